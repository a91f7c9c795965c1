// Jinja's built-in filters that chat templates use (jinja2/filters.py semantics), with
// Hugging Face's `tojson`.

import Foundation

extension JinjaRenderer {
    func applyFilter(_ name: String, _ value: JinjaValue, _ args: JinjaArgs, line: Int?) throws -> JinjaValue {
        func fail(_ message: String) -> JinjaError { JinjaError(.render, "filter \(name): \(message)", line: line) }
        func string() throws -> String {
            guard case .string(let s) = value else { throw fail("expected a string, got \(value.typeName)") }
            return s
        }
        switch name {
        case "trim":
            return .string(Self.strip(value.printed, chars: args.get(0, "chars"), left: true, right: true))
        case "upper": return .string(value.printed.uppercased())
        case "lower": return .string(value.printed.lowercased())
        case "capitalize": return .string(Self.capitalize(value.printed))
        case "title": return .string(Self.title(value.printed))
        case "length", "count":
            switch value {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .array(let items): return .int(items.count)
            case .object(let o), .namespace(let o): return .int(o.count)
            case .undefined: return .int(0)
            default: throw fail("a \(value.typeName) has no length")
            }
        case "default", "d":
            let fallback = args.get(0, "default_value") ?? .string("")
            let boolean = args.get(1, "boolean")?.isTruthy ?? false
            if value == .undefined || (boolean && !value.isTruthy) { return fallback }
            return value
        case "tojson":
            let indent = args.get(1, "indent").flatMap(\.integer) ?? args.get(0, "indent").flatMap(\.integer)
            let sortKeys = args.get(3, "sort_keys")?.isTruthy ?? false
            var itemSeparator: String? = nil, keySeparator = ": "
            if case .array(let separators) = args.get(2, "separators") ?? .none, separators.count == 2 {
                itemSeparator = separators[0].printed
                keySeparator = separators[1].printed
            }
            do {
                return .string(try value.json(indent: indent, sortKeys: sortKeys, itemSeparator: itemSeparator, keySeparator: keySeparator))
            } catch let error as JinjaError {
                throw JinjaError(.render, error.message, line: line)
            }
        case "first":
            return try elements(of: value, line: line).first ?? .undefined
        case "last":
            return try elements(of: value, line: line).last ?? .undefined
        case "join":
            let separator = args.get(0, "d")?.printed ?? ""
            var items = try elements(of: value, line: line)
            if let attribute = args.get(1, "attribute") { items = items.map { item(of: $0, attribute) } }
            return .string(items.map(\.printed).joined(separator: separator))
        case "replace":
            guard let old = args.get(0, "old")?.printed, let new = args.get(1, "new")?.printed else { throw fail("needs old and new") }
            return .string(Self.replace(value.printed, old, new, count: args.get(2, "count")?.integer))
        case "string": return .string(value.printed)
        case "int":
            let fallback = args.get(0, "default") ?? .int(0)
            switch value {
            case .int, .bool: return .int(value.integer!)
            case .double(let d): return d.isFinite ? .int(Int(d)) : fallback
            case .string(let s):
                let t = s.trimmingCharacters(in: .whitespaces)
                if let i = Int(t) { return .int(i) }
                if let d = Double(t), d.isFinite { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            if let d = value.number { return .double(d) }
            if case .string(let s) = value, let d = Double(s.trimmingCharacters(in: .whitespaces)) { return .double(d) }
            return args.get(0, "default") ?? .double(0)
        case "abs":
            if let i = value.integer { return .int(abs(i)) }
            if let d = value.number { return .double(abs(d)) }
            throw fail("expected a number, got \(value.typeName)")
        case "round":
            guard let d = value.number else { throw fail("expected a number, got \(value.typeName)") }
            let precision = args.get(0, "precision")?.integer ?? 0
            let method = args.get(1, "method")?.printed ?? "common"
            let scale = pow(10.0, Double(precision))
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrAwayFromZero
            return .double((d * scale).rounded(rule) / scale)
        case "list": return .array(try elements(of: value, line: line))
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .array(try elements(of: value, line: line).reversed())
        case "unique":
            var seen: [JinjaValue] = []
            for item in try elements(of: value, line: line) where !seen.contains(where: { $0.pythonEquals(item) }) { seen.append(item) }
            return .array(seen)
        case "sort":
            let reverse = args.get(0, "reverse")?.isTruthy ?? false
            let attribute = args.get(2, "attribute")
            var failed = false
            let sorted = try elements(of: value, line: line).sorted { x, y in
                let a = attribute.map { item(of: x, $0) } ?? x, b = attribute.map { item(of: y, $0) } ?? y
                guard let order = compare(a, b) else { failed = true; return false }
                return reverse ? order > 0 : order < 0
            }
            if failed { throw fail("values cannot be ordered") }
            return .array(sorted)
        case "items":
            guard case .object(let object) = value else {
                if value == .undefined { return .array([]) }
                throw fail("expected a dict, got \(value.typeName)")
            }
            return .array(object.keys.map { .array([.string($0), object[$0]]) })
        case "dictsort":
            guard case .object(let object) = value else { throw fail("expected a dict, got \(value.typeName)") }
            return .array(object.keys.sorted { $0.lowercased() < $1.lowercased() }.map { .array([.string($0), object[$0]]) })
        case "selectattr", "rejectattr", "select", "reject":
            let byAttribute = name.hasSuffix("attr")
            let keep = name.hasPrefix("select")
            var rest = args.positional
            let attribute: JinjaValue? = byAttribute ? (rest.isEmpty ? nil : rest.removeFirst()) : nil
            if byAttribute && attribute == nil { throw fail("needs an attribute name") }
            let test = rest.isEmpty ? nil : rest.removeFirst().printed
            return .array(try elements(of: value, line: line).filter { element in
                let subject = attribute.map { item(of: element, $0) } ?? element
                let passed = try test.map { try applyTest($0, subject, JinjaArgs(positional: rest), line: line) } ?? subject.isTruthy
                return passed == keep
            })
        case "map":
            let items = try elements(of: value, line: line)
            if let attribute = args.keyword.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = args.keyword.first { $0.0 == "default" }?.1
                return .array(items.map { let v = item(of: $0, attribute); return v == .undefined ? (fallback ?? v) : v })
            }
            guard let filter = args.positional.first?.printed else { throw fail("needs a filter name or attribute=") }
            let rest = JinjaArgs(positional: Array(args.positional.dropFirst()), keyword: args.keyword)
            return .array(try items.map { try applyFilter(filter, $0, rest, line: line) })
        case "sum":
            var items = try elements(of: value, line: line)
            if let attribute = args.get(0, "attribute") { items = items.map { item(of: $0, attribute) } }
            return try items.reduce(args.get(1, "start") ?? .int(0)) { try binary("+", $0, $1, line: line) }
        case "min", "max":
            let items = try elements(of: value, line: line)
            guard var best = items.first else { return .undefined }
            for item in items.dropFirst() {
                guard let order = compare(item, best) else { throw fail("values cannot be ordered") }
                if name == "min" ? order < 0 : order > 0 { best = item }
            }
            return best
        case "indent":
            let width = args.get(0, "width").map { $0.integer.map { String(repeating: " ", count: $0) } ?? $0.printed } ?? "    "
            let first = args.get(1, "first")?.isTruthy ?? false
            let blank = args.get(2, "blank")?.isTruthy ?? false
            let lines = value.printed.components(separatedBy: "\n")
            return .string(lines.enumerated().map { i, line in
                (i == 0 && !first) || (line.isEmpty && !blank) ? line : width + line
            }.joined(separator: "\n"))
        case "safe": return value
        case "escape", "e", "forceescape":
            return .string(value.printed.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(of: "'", with: "&#39;"))
        case "wordcount":
            return .int(try string().split { $0.isWhitespace }.count)
        default:
            throw JinjaError(.render, "unknown filter `\(name)`", line: line)
        }
    }

    static func strip(_ s: String, chars: JinjaValue?, left: Bool, right: Bool) -> String {
        let set: (Unicode.Scalar) -> Bool
        if let chars, chars != .none, chars != .undefined {
            let allowed = Set(chars.printed.unicodeScalars)
            set = { allowed.contains($0) }
        } else {
            set = { $0.properties.isWhitespace }
        }
        var scalars = Substring(s).unicodeScalars[...]
        if left { while let first = scalars.first, set(first) { scalars.removeFirst() } }
        if right { while let last = scalars.last, set(last) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    static func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.uppercased() + s.dropFirst().lowercased()
    }

    /// Python's `str.title()`: a letter after a non-letter is upper-cased, other letters lower-cased.
    static func title(_ s: String) -> String {
        var out = ""
        var previousIsLetter = false
        for c in s {
            out += previousIsLetter ? c.lowercased() : c.uppercased()
            previousIsLetter = c.isLetter
        }
        return out
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int?) -> String {
        guard let count, count >= 0 else { return s.replacingOccurrences(of: old, with: new) }
        var result = ""
        var rest = Substring(s)
        var done = 0
        while done < count, let range = rest.range(of: old) {
            result += rest[..<range.lowerBound] + new
            rest = rest[range.upperBound...]
            done += 1
        }
        return result + rest
    }
}
