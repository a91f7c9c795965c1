// The `tojson` filter as Hugging Face defines it for chat templates: Python's
// `json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)`.

extension JinjaValue {
    func json(indent: Int?, sortKeys: Bool, itemSeparator: String? = nil, keySeparator: String = ": ") throws -> String {
        var out = ""
        let separator = itemSeparator ?? (indent == nil ? ", " : ",")
        try writeJSON(into: &out, indent: indent, level: 0, sortKeys: sortKeys, itemSeparator: separator, keySeparator: keySeparator)
        return out
    }

    private func writeJSON(into out: inout String, indent: Int?, level: Int, sortKeys: Bool,
                           itemSeparator: String, keySeparator: String) throws {
        func newline(_ level: Int) {
            if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
        }
        switch self {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += Self.pythonFloat(d) }
        case .string(let s): out += Self.jsonQuoted(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1)
                try item.writeJSON(into: &out, indent: indent, level: level + 1, sortKeys: sortKeys,
                                   itemSeparator: itemSeparator, keySeparator: keySeparator)
            }
            newline(level)
            out += "]"
        case .object(let object), .namespace(let object):
            if object.isEmpty { out += "{}"; return }
            out += "{"
            let keys = sortKeys ? object.keys.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) } : object.keys
            for (i, key) in keys.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1)
                out += Self.jsonQuoted(key) + keySeparator
                try object[key].writeJSON(into: &out, indent: indent, level: level + 1, sortKeys: sortKeys,
                                          itemSeparator: itemSeparator, keySeparator: keySeparator)
            }
            newline(level)
            out += "}"
        case .undefined, .callable:
            throw JinjaError(.render, "Object of type \(typeName) is not JSON serializable")
        }
    }

    static func jsonQuoted(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}
