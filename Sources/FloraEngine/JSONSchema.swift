// The part of JSON Schema that Flora enforces while sampling (OpenAI's structured outputs,
// `response_format`), as a typed value: the server parses a request's schema into it, and
// JSONGrammar compiles it into the automaton that masks the vocabulary.
//
// Choices that differ from a validator's reading of the same schema, because a generator must
// decide what to write:
// - An object has exactly its listed properties (`additionalProperties: false`, also when it is
//   absent, as OpenAI's strict mode reads it); required ones must appear, optional ones may.
//   The model writes them in any order: JSON objects are unordered, and the request's decoder
//   does not keep the schema's key order anyway.
// - `anyOf` must be decidable from a value's first character (a string or null, an object or an
//   array …): the grammar then knows its branch at once and stays deterministic, so `oneOf`
//   means the same. Alternatives of one kind are merged first (every literal into one set,
//   integer into number, string literals into a free string).

public indirect enum JSONSchema: Sendable, Equatable {
    /// Any JSON value.
    case any
    /// Any JSON object (`response_format: json_object`).
    case anyObject
    /// An object with exactly these properties (at most `maxProperties`), names distinct.
    case object([JSONSchemaProperty])
    case array(items: JSONSchema, minItems: Int = 0, maxItems: Int? = nil)
    case string
    case number
    case integer
    /// One of these values, each a compact JSON text (`enum`, `const`, booleans, `null`).
    case literals([String])
    case anyOf([JSONSchema])

    public static let boolean = JSONSchema.literals(["true", "false"])
    public static let null = JSONSchema.literals(["null"])
    /// An object's properties are tracked as bits of one word while it is written.
    public static let maxProperties = 64

    /// The alternatives of an `anyOf` merged by kind (see the file header); throws when two
    /// that remain can start with the same character, naming them.
    public static func mergedAnyOf(_ alternatives: [JSONSchema]) throws -> JSONSchema {
        guard !alternatives.isEmpty else { throw JSONSchemaError("anyOf must list at least one schema") }
        var flat: [JSONSchema] = []
        func flatten(_ schemas: [JSONSchema]) {
            for schema in schemas {
                if case .anyOf(let inner) = schema { flatten(inner) } else { flat.append(schema) }
            }
        }
        flatten(alternatives)
        if flat.contains(.any) { return .any }
        let hasString = flat.contains(.string)
        let hasNumber = flat.contains(.number)
        let hasInteger = flat.contains(.integer)
        var literals: [String] = []
        var others: [JSONSchema] = []
        for schema in flat {
            switch schema {
            case .literals(let values):
                for value in values where !literals.contains(value) {
                    let first = value.utf8.first ?? 0
                    let numeric = first == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first)
                    let integral = numeric && !value.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
                    if first == UInt8(ascii: "\""), hasString { continue }
                    if numeric, hasNumber || (hasInteger && integral) { continue }
                    literals.append(value)
                }
            case .integer where hasNumber:
                continue
            default:
                if !others.contains(schema) { others.append(schema) }
            }
        }
        var merged = others
        if !literals.isEmpty { merged.append(.literals(literals)) }
        if merged.count == 1 { return merged[0] }
        for i in merged.indices {
            for j in merged.indices where j > i {
                if let shared = merged[i].firstBytes.first(where: merged[j].firstBytes.contains) {
                    throw JSONSchemaError(
                        "anyOf alternatives must be told apart by their first character, but \(merged[i].kindName) and \(merged[j].kindName) can both start with '\(Character(Unicode.Scalar(shared)))'")
                }
            }
        }
        return .anyOf(merged)
    }

    /// The bytes a value of this schema can start with.
    var firstBytes: Set<UInt8> {
        switch self {
        case .any: Set("{[\"-0123456789tfn".utf8)
        case .anyObject, .object: [UInt8(ascii: "{")]
        case .array: [UInt8(ascii: "[")]
        case .string: [UInt8(ascii: "\"")]
        case .number, .integer: Set("-0123456789".utf8)
        case .literals(let values): Set(values.compactMap(\.utf8.first))
        case .anyOf(let alternatives): alternatives.reduce(into: Set()) { $0.formUnion($1.firstBytes) }
        }
    }

    var kindName: String {
        switch self {
        case .any: "any value"
        case .anyObject, .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .integer: "an integer"
        case .literals(let values): "the values \(values.joined(separator: ", "))"
        case .anyOf: "anyOf"
        }
    }
}

public struct JSONSchemaProperty: Sendable, Equatable {
    public var name: String
    public var schema: JSONSchema
    public var required: Bool

    public init(name: String, schema: JSONSchema, required: Bool = true) {
        self.name = name
        self.schema = schema
        self.required = required
    }
}

/// A schema Flora cannot enforce, in words.
public struct JSONSchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
