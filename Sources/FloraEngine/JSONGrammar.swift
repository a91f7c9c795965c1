// A JSONSchema compiled for the automaton (JSONAutomaton.swift): a graph of nodes addressed by
// index, so that a frame on the automaton's stack is a few integers and `any` (which contains
// itself) is a cycle rather than an infinite tree. Property names and literals are kept as the
// exact bytes the model must write, sorted bytewise so that the candidates sharing a typed
// prefix are one contiguous run. Immutable and Sendable: one compiled grammar serves every
// choice of a request.

public struct JSONGrammar: Sendable {
    enum Node: Sendable {
        case object(ObjectNode)
        /// Any keys; every value of the node `value`.
        case freeObject(value: Int32)
        /// `maxItems` is `Int.max` when unbounded.
        case array(items: Int32, minItems: Int, maxItems: Int)
        case string
        case number(integer: Bool)
        /// Compact JSON texts, sorted bytewise, distinct.
        case literals([[UInt8]])
        /// The node to follow for a value's first byte (256 entries, -1: none).
        case anyOf([Int32])
    }

    struct ObjectNode: Sendable {
        /// Each property's name as written inside a key, escaped, with its closing quote;
        /// sorted bytewise. Bit `i` of a frame's set stands for `names[i]`.
        var names: [[UInt8]]
        var values: [Int32]
        var required: UInt64
        var all: UInt64
    }

    let nodes: [Node]
    let root: Int32
    public let schema: JSONSchema

    /// Throws when the schema asks for what the automaton cannot enforce, saying what.
    public init(_ schema: JSONSchema) throws {
        var compiler = Compiler()
        root = try compiler.compile(schema)
        nodes = compiler.nodes
        self.schema = schema
        // A literal is written byte for byte, so it must be JSON itself, without the whitespace
        // that the automaton takes between values rather than inside a literal.
        for case .literals(let values) in nodes {
            for value in values {
                var automaton = JSONAutomaton(.anyValue)
                guard automaton.accepts(value, whole: true), !JSONAutomaton.isWhitespace(value[0]) else {
                    throw JSONSchemaError("the value \(String(decoding: value, as: UTF8.self)) is not compact JSON")
                }
            }
        }
    }

    /// Any JSON value (checks literals, so it cannot check its own).
    static let anyValue: JSONGrammar = {
        var compiler = Compiler()
        let root = compiler.anyNode()
        return JSONGrammar(nodes: compiler.nodes, root: root, schema: .any)
    }()

    private init(nodes: [Node], root: Int32, schema: JSONSchema) {
        self.nodes = nodes
        self.root = root
        self.schema = schema
    }

    /// The escaped body of a JSON string (without quotes), as JSON writers spell it: `"` and `\`
    /// escaped, control characters as short escapes or `\u00XX`, everything else as its UTF-8.
    static func escaped(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), byte]
            case 0x0A: bytes += Array("\\n".utf8)
            case 0x0D: bytes += Array("\\r".utf8)
            case 0x09: bytes += Array("\\t".utf8)
            case 0x08: bytes += Array("\\b".utf8)
            case 0x0C: bytes += Array("\\f".utf8)
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: bytes.append(byte)
            }
        }
        return bytes
    }

    private struct Compiler {
        var nodes: [Node] = []
        /// The node of `.any`, made once: it refers to itself through objects and arrays.
        var anyValue: Int32?

        mutating func add(_ node: Node) -> Int32 {
            nodes.append(node)
            return Int32(nodes.count - 1)
        }

        mutating func compile(_ schema: JSONSchema) throws -> Int32 {
            switch schema {
            case .any:
                return anyNode()
            case .anyObject:
                return add(.freeObject(value: anyNode()))
            case .object(let properties):
                guard properties.count <= JSONSchema.maxProperties else {
                    throw JSONSchemaError("an object may have at most \(JSONSchema.maxProperties) properties, got \(properties.count)")
                }
                let sorted = properties.map { (JSONGrammar.escaped($0.name) + [UInt8(ascii: "\"")], $0) }
                    .sorted { $0.0.lexicographicallyPrecedes($1.0) }
                for i in sorted.indices.dropFirst() where sorted[i].0 == sorted[i - 1].0 {
                    throw JSONSchemaError("the property '\(sorted[i].1.name)' is listed twice")
                }
                var object = ObjectNode(names: sorted.map(\.0), values: [], required: 0, all: 0)
                for (i, (_, property)) in sorted.enumerated() {
                    object.values.append(try compile(property.schema))
                    object.all |= 1 << UInt64(i)
                    if property.required { object.required |= 1 << UInt64(i) }
                }
                return add(.object(object))
            case .array(let items, let minItems, let maxItems):
                guard minItems >= 0 else { throw JSONSchemaError("minItems must be ≥ 0, got \(minItems)") }
                if let maxItems, maxItems < minItems {
                    throw JSONSchemaError("maxItems (\(maxItems)) must be ≥ minItems (\(minItems))")
                }
                let itemNode = try compile(items)
                return add(.array(items: itemNode, minItems: minItems, maxItems: maxItems ?? .max))
            case .string:
                return add(.string)
            case .number:
                return add(.number(integer: false))
            case .integer:
                return add(.number(integer: true))
            case .literals(let values):
                guard !values.isEmpty else { throw JSONSchemaError("an enum must list at least one value") }
                let sorted = Set(values.map { Array($0.utf8) }).sorted { $0.lexicographicallyPrecedes($1) }
                return add(.literals(sorted))
            case .anyOf(let alternatives):
                let merged = try JSONSchema.mergedAnyOf(alternatives)
                guard case .anyOf(let branches) = merged else { return try compile(merged) }
                var dispatch = [Int32](repeating: -1, count: 256)
                for branch in branches {
                    let node = try compile(branch)
                    for byte in branch.firstBytes { dispatch[Int(byte)] = node }
                }
                return add(.anyOf(dispatch))
            }
        }

        /// Any value: an object or array of any values, a string, a number, true, false, null.
        mutating func anyNode() -> Int32 {
            if let anyValue { return anyValue }
            let node = add(.anyOf([]))
            anyValue = node
            let branches: [(Node, String)] = [
                (.freeObject(value: node), "{"), (.array(items: node, minItems: 0, maxItems: .max), "["), (.string, "\""),
                (.number(integer: false), "-0123456789"), (.literals(["false", "null", "true"].map { Array($0.utf8) }), "tfn"),
            ]
            var dispatch = [Int32](repeating: -1, count: 256)
            for (branch, firstBytes) in branches {
                let index = add(branch)
                for byte in firstBytes.utf8 { dispatch[Int(byte)] = index }
            }
            nodes[Int(node)] = .anyOf(dispatch)
            return node
        }
    }
}
