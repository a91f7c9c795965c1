// Values of the Jinja subset Flora renders chat templates with. They follow Python's
// semantics where a template can see them (Jinja runs on Python): truthiness, `str()` and
// `repr()`, equality across int/float/bool, ordered dictionaries.

/// A value inside a Jinja template.
public indirect enum JinjaValue: Sendable, Equatable {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// A list (or tuple).
    case array([JinjaValue])
    /// A dict with string keys, in insertion order.
    case object(JinjaObject)
    /// A `namespace(...)` object: attributes may be set from inner scopes.
    case namespace(JinjaObject)
    /// A macro, a global function or a bound method.
    case callable(JinjaCallable)

    /// A dict from key-value pairs, keeping their order.
    public static func dictionary(_ pairs: [(String, JinjaValue)]) -> JinjaValue {
        .object(JinjaObject(pairs))
    }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .double(let d): d != 0
        case .string(let s): !s.isEmpty
        case .array(let a): !a.isEmpty
        case .object(let o), .namespace(let o): !o.isEmpty
        case .callable: true
        }
    }

    /// Python `str()`, as `{{ value }}` prints it (undefined prints nothing).
    var printed: String {
        switch self {
        case .undefined: ""
        case .string(let s): s
        default: repr
        }
    }

    /// Python `repr()`.
    var repr: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): String(i)
        case .double(let d): Self.pythonFloat(d)
        case .string(let s): Self.pythonQuoted(s)
        case .array(let a): "[" + a.map(\.repr).joined(separator: ", ") + "]"
        case .object(let o):
            "{" + o.keys.map { Self.pythonQuoted($0) + ": " + o[$0].repr }.joined(separator: ", ") + "}"
        case .namespace(let o):
            "<Namespace " + o.keys.map { $0 + "=" + o[$0].repr }.joined(separator: ", ") + ">"
        case .callable(let c): "<function \(c.name)>"
        }
    }

    /// Python's repr of a float: shortest round-trip digits, always with a decimal point or exponent.
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(Int(d)) + ".0" }
        return String(d)
    }

    static func pythonQuoted(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(c) == quote { out += "\\" + String(quote) }
                else if c.value < 0x20 || c.value == 0x7F { out += "\\x" + (c.value < 16 ? "0" : "") + String(c.value, radix: 16) }
                else { out.unicodeScalars.append(c) }
            }
        }
        out.append(quote)
        return out
    }

    var typeName: String {
        switch self {
        case .undefined: "undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .array: "list"
        case .object: "dict"
        case .namespace: "Namespace"
        case .callable: "function"
        }
    }

    /// Numeric value of int, float and bool (Python treats bool as int).
    var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    var integer: Int? {
        switch self {
        case .int(let i): i
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    /// Python `==`.
    func pythonEquals(_ other: JinjaValue) -> Bool {
        switch (self, other) {
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pythonEquals($1) }
        case (.object(let a), .object(let b)):
            return a.count == b.count && a.keys.allSatisfy { b.contains($0) && a[$0].pythonEquals(b[$0]) }
        case (.none, .none), (.undefined, .undefined): return true
        default:
            if let a = number, let b = other.number { return a == b }
            return false
        }
    }
}

/// An insertion-ordered dictionary with string keys.
public struct JinjaObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]

    public init(_ pairs: [(String, JinjaValue)] = []) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
    public func contains(_ key: String) -> Bool { storage[key] != nil }

    /// The value for `key`, or `.undefined`.
    public subscript(key: String) -> JinjaValue {
        get { storage[key] ?? .undefined }
        set {
            if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
        }
    }

    public static func == (a: JinjaObject, b: JinjaObject) -> Bool { a.keys == b.keys && a.storage == b.storage }
}

/// Something a template can call.
public struct JinjaCallable: Sendable, Equatable {
    enum Kind: Sendable {
        case global(String)
        case macro(JinjaMacro)
        case method(receiver: JinjaValue, name: String)
    }

    let kind: Kind

    /// Callables compare by name: templates only ever test them for being defined.
    public static func == (a: JinjaCallable, b: JinjaCallable) -> Bool { a.name == b.name }

    var name: String {
        switch kind {
        case .global(let name): name
        case .macro(let macro): macro.name
        case .method(_, let name): name
        }
    }
}
