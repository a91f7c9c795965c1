// `response_format` of completions and chat (OpenAI's structured outputs): `{"type": "text"}`
// (the default), `{"type": "json_object"}` (any JSON object), or `{"type": "json_schema",
// "json_schema": {"name", "schema", "strict"}}`. The schema is read here into FloraEngine's
// `JSONSchema` (the subset the sampler enforces, see JSONSchema.swift); anything outside it is
// refused with a 400 that names the keyword and where it is, rather than ignored, because an
// ignored keyword would be output the client believes was checked.
//
// Read as in OpenAI's strict mode whatever `strict` says: `additionalProperties` absent means
// false; `additionalProperties: true` is accepted only on an object without `properties` (any
// object). Annotations (title, description, default, examples …) are ignored; `$ref` is refused.

import FloraEngine
import Foundation

struct ResponseFormatInput: Decodable, Sendable {
    var type: String
    var jsonSchema: JSONSchemaInput?

    struct JSONSchemaInput: Decodable, Sendable {
        var name: String?
        var description: String?
        var schema: JSONValue?
        var strict: Bool?
    }

    enum CodingKeys: String, CodingKey {
        case type
        case jsonSchema = "json_schema"
    }

    static let param = "response_format"

    /// The grammar the output must follow; nil for plain text.
    func grammar() throws -> JSONGrammar? {
        switch type {
        case "text":
            return nil
        case "json_object":
            return try Self.compile(.anyObject, at: Self.param)
        case "json_schema":
            guard let jsonSchema else {
                throw APIError.badRequest("response_format of type json_schema needs the field 'response_format.json_schema'", param: Self.param)
            }
            let path = Self.param + ".json_schema.schema"
            // OpenAI makes `schema` optional; without one the output is any JSON value.
            var reader = SchemaReader()
            let schema = try jsonSchema.schema.map { try reader.read($0, at: path, depth: 0) } ?? .any
            return try Self.compile(schema, at: path)
        default:
            throw APIError.badRequest("response_format.type must be 'text', 'json_object' or 'json_schema', got '\(type)'", param: Self.param)
        }
    }

    private static func compile(_ schema: JSONSchema, at path: String) throws -> JSONGrammar {
        do {
            return try JSONGrammar(schema)
        } catch let error as JSONSchemaError {
            throw APIError.badRequest("\(path): \(error.message)", param: param)
        }
    }
}

/// Reads one schema (and its sub-schemas) into a `JSONSchema`, bounding depth and size.
struct SchemaReader {
    static let maxDepth = 32
    static let maxSchemas = 2048
    static let maxEnumValues = 1024
    static let annotations: Set<String> = [
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions",
    ]
    static let supported: Set<String> = [
        "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "enum", "const", "anyOf", "oneOf",
    ]
    static let types = ["object", "array", "string", "number", "integer", "boolean", "null"]

    private var schemaCount = 0

    mutating func read(_ value: JSONValue, at path: String, depth: Int) throws -> JSONSchema {
        func fail(_ message: String) -> APIError { APIError.badRequest("\(path): \(message)", param: ResponseFormatInput.param) }
        schemaCount += 1
        guard schemaCount <= Self.maxSchemas else { throw fail("the schema has more than \(Self.maxSchemas) sub-schemas") }
        guard depth <= Self.maxDepth else { throw fail("schemas nested deeper than \(Self.maxDepth) levels are not supported") }
        if case .bool(true) = value { return .any }
        guard case .object(let keywords) = value else { throw fail("expected a schema (a JSON object), got \(value.kindName)") }
        for key in keywords.keys.sorted() where !Self.supported.contains(key) && !Self.annotations.contains(key) {
            throw fail("'\(key)' is not supported")
        }

        let types: [String]?
        switch keywords["type"] {
        case nil: types = nil
        case .string(let type)?: types = [type]
        case .array(let list)?:
            types = try list.map {
                guard case .string(let type) = $0 else { throw fail("'type' must be a string or a list of strings") }
                return type
            }
            guard types?.isEmpty == false else { throw fail("'type' must not be an empty list") }
        default: throw fail("'type' must be a string or a list of strings")
        }
        if let unknown = types?.first(where: { !Self.types.contains($0) }) {
            throw fail("'type' must be one of \(Self.types.joined(separator: ", ")), got '\(unknown)'")
        }

        for combinator in ["anyOf", "oneOf"] {
            guard let alternatives = keywords[combinator] else { continue }
            if let other = keywords.keys.sorted().first(where: { Self.supported.contains($0) && $0 != combinator }) {
                throw fail("'\(combinator)' cannot be combined with '\(other)' (put it inside each alternative)")
            }
            guard case .array(let list) = alternatives, !list.isEmpty else { throw fail("'\(combinator)' must be a non-empty list of schemas") }
            let schemas = try list.enumerated().map { try read($1, at: "\(path).\(combinator)[\($0)]", depth: depth + 1) }
            do {
                return try JSONSchema.mergedAnyOf(schemas)
            } catch let error as JSONSchemaError {
                throw fail(error.message)
            }
        }

        if let values = try literalValues(keywords, fail: fail) {
            if let types, let bad = values.first(where: { value in !types.contains { value.matches(type: $0) } }) {
                throw fail("the value \(bad.compactText) does not have the schema's type (\(types.joined(separator: ", ")))")
            }
            return .literals(values.map(\.compactText))
        }

        let kinds = try (types ?? [keywords["properties"] != nil ? "object" : keywords["items"] != nil ? "array" : "any"]).map { type in
            try schema(ofType: type, keywords, at: path, depth: depth, fail: fail)
        }
        if kinds.count == 1 { return kinds[0] }
        do {
            return try JSONSchema.mergedAnyOf(kinds)
        } catch let error as JSONSchemaError {
            throw fail("'type': \(error.message)")
        }
    }

    /// `enum` or `const`, if the schema has one.
    private func literalValues(_ keywords: [String: JSONValue], fail: (String) -> APIError) throws -> [JSONValue]? {
        if keywords["enum"] != nil, keywords["const"] != nil { throw fail("give 'enum' or 'const', not both") }
        if let const = keywords["const"] { return [const] }
        guard let values = keywords["enum"] else { return nil }
        guard case .array(let list) = values, !list.isEmpty else { throw fail("'enum' must be a non-empty list") }
        guard list.count <= Self.maxEnumValues else { throw fail("'enum' may list at most \(Self.maxEnumValues) values, got \(list.count)") }
        return list
    }

    private mutating func schema(ofType type: String, _ keywords: [String: JSONValue], at path: String, depth: Int, fail: (String) -> APIError) throws -> JSONSchema {
        switch type {
        case "object":
            var properties: [String: JSONValue] = [:]
            if let given = keywords["properties"] {
                guard case .object(let object) = given else { throw fail("'properties' must be an object of schemas") }
                properties = object
            }
            var required: [String] = []
            if let given = keywords["required"] {
                guard case .array(let list) = given else { throw fail("'required' must be a list of property names") }
                required = try list.map {
                    guard case .string(let name) = $0 else { throw fail("'required' must be a list of property names") }
                    guard properties[name] != nil else { throw fail("'required' lists '\(name)', which is not in 'properties'") }
                    return name
                }
            }
            switch keywords["additionalProperties"] {
            case nil, .bool(false)?:
                break
            case .bool(true)? where properties.isEmpty, .object([:])? where properties.isEmpty:
                return .anyObject
            default:
                throw fail("'additionalProperties' is supported only as false (or true on an object without 'properties')")
            }
            guard properties.count <= JSONSchema.maxProperties else {
                throw fail("an object may have at most \(JSONSchema.maxProperties) properties, got \(properties.count)")
            }
            return .object(try properties.keys.sorted().map { name in
                JSONSchemaProperty(
                    name: name, schema: try read(properties[name]!, at: "\(path).properties.\(name)", depth: depth + 1),
                    required: required.contains(name))
            })
        case "array":
            let items = try keywords["items"].map { try read($0, at: "\(path).items", depth: depth + 1) } ?? .any
            let minItems = try count(keywords["minItems"], "minItems", fail: fail) ?? 0
            let maxItems = try count(keywords["maxItems"], "maxItems", fail: fail)
            if let maxItems, maxItems < minItems { throw fail("'maxItems' (\(maxItems)) is less than 'minItems' (\(minItems))") }
            return .array(items: items, minItems: minItems, maxItems: maxItems)
        case "string": return .string
        case "number": return .number
        case "integer": return .integer
        case "boolean": return .boolean
        case "null": return .null
        default: return .any
        }
    }

    private func count(_ value: JSONValue?, _ name: String, fail: (String) -> APIError) throws -> Int? {
        guard let value else { return nil }
        guard case .integer(let n) = value, n >= 0, n <= Int64(Int32.max) else { throw fail("'\(name)' must be an integer ≥ 0") }
        return Int(n)
    }
}

/// Any JSON value, for the parts of a request whose shape is open (a schema).
indirect enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let bool = try? container.decode(Bool.self) { self = .bool(bool) }
        else if let integer = try? container.decode(Int64.self) { self = .integer(integer) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let string = try? container.decode(String.self) { self = .string(string) }
        else if let array = try? container.decode([JSONValue].self) { self = .array(array) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The value as compact JSON with sorted keys: how the model must write an enum value.
    var compactText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    func matches(type: String) -> Bool {
        switch (type, self) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("integer", .integer),
             ("number", .integer), ("number", .number): true
        case ("integer", .number(let value)): value.rounded() == value
        default: false
        }
    }

    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }
}
