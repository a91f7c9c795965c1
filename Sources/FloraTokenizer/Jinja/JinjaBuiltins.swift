// Jinja's tests (`is defined` …), the global functions chat templates call (`range`,
// `namespace`, `dict`, and Hugging Face's `raise_exception`), and the Python methods of
// strings and dicts that templates use (`.strip()`, `.items()` …).

import Foundation

extension JinjaRenderer {
    static let globals: Set<String> = ["range", "namespace", "dict", "raise_exception"]
    static let dictMethods: Set<String> = ["items", "keys", "values", "get"]
    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "upper", "lower", "title", "capitalize", "startswith", "endswith",
        "split", "rsplit", "splitlines", "replace", "join", "find", "count", "isdigit", "isalpha", "isspace",
    ]

    func applyTest(_ name: String, _ value: JinjaValue, _ args: JinjaArgs, line: Int?) throws -> Bool {
        let argument = args.positional.first
        func ordered(_ accept: (Int) -> Bool) throws -> Bool {
            guard let argument, let order = compare(value, argument) else {
                throw JinjaError(.render, "test \(name): values cannot be compared", line: line)
            }
            return accept(order)
        }
        switch name {
        case "defined": return value != .undefined
        case "undefined": return value == .undefined
        case "none": return value == .none
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true)
        case "false": return value == .bool(false)
        case "string": if case .string = value { return true } else { return false }
        case "number":
            switch value { case .int, .double: return true; default: return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "mapping":
            switch value { case .object, .namespace: return true; default: return false }
        case "iterable", "sequence":
            switch value { case .array, .object, .string: return true; default: return false }
        case "callable": if case .callable = value { return true } else { return false }
        case "odd", "even":
            guard let i = value.integer else { throw JinjaError(.render, "test \(name) needs an integer", line: line) }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard let i = value.integer, let n = argument?.integer, n != 0 else {
                throw JinjaError(.render, "test divisibleby needs two integers", line: line)
            }
            return i % n == 0
        case "eq", "equalto", "==": return argument.map { value.pythonEquals($0) } ?? false
        case "ne", "!=": return !(argument.map { value.pythonEquals($0) } ?? false)
        case "lt", "lessthan", "<": return try ordered { $0 < 0 }
        case "le", "<=": return try ordered { $0 <= 0 }
        case "gt", "greaterthan", ">": return try ordered { $0 > 0 }
        case "ge", ">=": return try ordered { $0 >= 0 }
        case "in": return try argument.map { try contains($0, value, line: line) } ?? false
        case "sameas": return argument.map { value == $0 } ?? false
        case "lower": if case .string(let s) = value { return s == s.lowercased() } else { return false }
        case "upper": if case .string(let s) = value { return s == s.uppercased() } else { return false }
        default: throw JinjaError(.render, "unknown test `\(name)`", line: line)
        }
    }

    func callGlobal(_ name: String, _ args: JinjaArgs, line: Int?) throws -> JinjaValue {
        switch name {
        case "raise_exception":
            throw JinjaError(.raised, args.positional.first?.printed ?? "", line: line)
        case "range":
            let numbers = try args.positional.map { value -> Int in
                guard let i = value.integer else { throw JinjaError(.render, "range() takes integers", line: line) }
                return i
            }
            let (start, stop, step): (Int, Int, Int) = switch numbers.count {
            case 1: (0, numbers[0], 1)
            case 2: (numbers[0], numbers[1], 1)
            case 3: (numbers[0], numbers[1], numbers[2])
            default: throw JinjaError(.render, "range() takes 1 to 3 arguments", line: line)
            }
            guard step != 0 else { throw JinjaError(.render, "range() step must not be zero", line: line) }
            let values = stride(from: start, to: stop, by: step)
            guard values.underestimatedCount <= 1_000_000 else { throw JinjaError(.render, "range() too long", line: line) }
            return .array(values.map { .int($0) })
        case "namespace", "dict":
            var object = JinjaObject()
            if case .object(let initial) = args.positional.first ?? .none { object = initial }
            for (key, value) in args.keyword { object[key] = value }
            return name == "namespace" ? .namespace(object) : .object(object)
        default:
            throw JinjaError(.render, "unknown function `\(name)`", line: line)
        }
    }

    func callMethod(_ receiver: JinjaValue, _ name: String, _ args: JinjaArgs, line: Int?) throws -> JinjaValue {
        if case .object(let object) = receiver {
            switch name {
            case "items": return .array(object.keys.map { .array([.string($0), object[$0]]) })
            case "keys": return .array(object.keys.map { .string($0) })
            case "values": return .array(object.keys.map { object[$0] })
            default:
                let key = args.get(0, "key")?.printed ?? ""
                return object.contains(key) ? object[key] : (args.get(1, "default") ?? .none)
            }
        }
        guard case .string(let s) = receiver else {
            throw JinjaError(.render, "a \(receiver.typeName) has no method \(name)", line: line)
        }
        let first = args.positional.first
        func prefixes() -> [String] {
            if case .array(let items) = first ?? .none { return items.map(\.printed) }
            return [first?.printed ?? ""]
        }
        switch name {
        case "strip": return .string(Self.strip(s, chars: first, left: true, right: true))
        case "lstrip": return .string(Self.strip(s, chars: first, left: true, right: false))
        case "rstrip": return .string(Self.strip(s, chars: first, left: false, right: true))
        case "upper": return .string(s.uppercased())
        case "lower": return .string(s.lowercased())
        case "title": return .string(Self.title(s))
        case "capitalize": return .string(Self.capitalize(s))
        case "startswith": return .bool(prefixes().contains { s.unicodeScalars.starts(with: $0.unicodeScalars) })
        case "endswith": return .bool(prefixes().contains { s.unicodeScalars.reversed().starts(with: $0.unicodeScalars.reversed()) })
        case "split", "rsplit":
            let separator = args.get(0, "sep").flatMap { $0 == .none ? nil : $0.printed }
            let maxSplit = args.get(1, "maxsplit")?.integer ?? -1
            return .array(Self.split(s, separator: separator, maxSplit: maxSplit, fromRight: name == "rsplit").map { .string($0) })
        case "splitlines":
            return .array(s.split(omittingEmptySubsequences: false) { $0.isNewline }.map { .string(String($0)) }.dropLast(s.last?.isNewline == true ? 1 : 0))
        case "replace":
            guard args.positional.count >= 2 else { throw JinjaError(.render, "replace() takes old and new", line: line) }
            return .string(Self.replace(s, args.positional[0].printed, args.positional[1].printed, count: args.positional.count > 2 ? args.positional[2].integer : nil))
        case "join":
            return .string(try elements(of: first ?? .array([]), line: line).map(\.printed).joined(separator: s))
        case "find":
            guard let needle = first?.printed, let range = s.range(of: needle) else { return .int(-1) }
            return .int(s.unicodeScalars[..<range.lowerBound].count)
        case "count":
            guard let needle = first?.printed, !needle.isEmpty else { return .int(s.unicodeScalars.count + 1) }
            return .int(s.components(separatedBy: needle).count - 1)
        case "isdigit": return .bool(!s.isEmpty && s.allSatisfy(\.isNumber))
        case "isalpha": return .bool(!s.isEmpty && s.allSatisfy(\.isLetter))
        case "isspace": return .bool(!s.isEmpty && s.allSatisfy(\.isWhitespace))
        default: throw JinjaError(.render, "a str has no method \(name)", line: line)
        }
    }

    /// Python's `str.split(sep, maxsplit)` / `rsplit`.
    static func split(_ s: String, separator: String?, maxSplit: Int, fromRight: Bool) -> [String] {
        guard let separator, !separator.isEmpty else {
            var words = s.split { $0.isWhitespace }.map(String.init)
            if maxSplit >= 0, words.count > maxSplit + 1 {
                // Approximation for whitespace splitting with a limit: keep the rest joined by one space.
                if fromRight {
                    let head = words[0..<(words.count - maxSplit)].joined(separator: " ")
                    words = [head] + words[(words.count - maxSplit)...]
                } else {
                    let tail = words[maxSplit...].joined(separator: " ")
                    words = Array(words[0..<maxSplit]) + [tail]
                }
            }
            return words
        }
        var parts = s.components(separatedBy: separator)
        if maxSplit >= 0, parts.count > maxSplit + 1 {
            if fromRight {
                let head = parts[0..<(parts.count - maxSplit)].joined(separator: separator)
                parts = [head] + parts[(parts.count - maxSplit)...]
            } else {
                let tail = parts[maxSplit...].joined(separator: separator)
                parts = Array(parts[0..<maxSplit]) + [tail]
            }
        }
        return parts
    }
}
