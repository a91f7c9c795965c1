// Operators, attribute access, indexing and slicing with Python's semantics.

import Foundation

extension JinjaRenderer {
    func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue, line: Int?) throws -> JinjaValue {
        func unsupported() -> JinjaError {
            JinjaError(.render, "unsupported operand types for \(op): \(a.typeName) and \(b.typeName)", line: line)
        }
        switch op {
        case "==": return .bool(a.pythonEquals(b))
        case "!=": return .bool(!a.pythonEquals(b))
        case "<", "<=", ">", ">=":
            guard let order = compare(a, b) else { throw unsupported() }
            switch op {
            case "<": return .bool(order < 0)
            case "<=": return .bool(order <= 0)
            case ">": return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case "in": return .bool(try contains(b, a, line: line))
        case "not in": return .bool(!(try contains(b, a, line: line)))
        case "~": return .string(a.printed + b.printed)
        case "+":
            switch (a, b) {
            case (.string(let x), .string(let y)): return .string(x + y)
            case (.array(let x), .array(let y)): return .array(x + y)
            default: break
            }
            return try arithmetic(a, b, ints: { $0.addingReportingOverflow($1) }, doubles: +) ?? { throw unsupported() }()
        case "-":
            return try arithmetic(a, b, ints: { $0.subtractingReportingOverflow($1) }, doubles: -) ?? { throw unsupported() }()
        case "*":
            if case .string(let s) = a, let n = b.integer { return .string(String(repeating: s, count: max(0, min(n, Self.maxOutput / max(1, s.utf8.count))))) }
            if case .array(let items) = a, let n = b.integer, n > 0, n <= 10_000 { return .array(Array(repeating: items, count: n).flatMap { $0 }) }
            return try arithmetic(a, b, ints: { $0.multipliedReportingOverflow(by: $1) }, doubles: *) ?? { throw unsupported() }()
        case "/":
            guard let x = a.number, let y = b.number else { throw unsupported() }
            guard y != 0 else { throw JinjaError(.render, "division by zero", line: line) }
            return .double(x / y)
        case "//", "%":
            if let x = a.integer, let y = b.integer {
                guard y != 0 else { throw JinjaError(.render, "integer division or modulo by zero", line: line) }
                let floorQuotient = x / y - ((x % y != 0 && (x < 0) != (y < 0)) ? 1 : 0)
                return op == "//" ? .int(floorQuotient) : .int(x - floorQuotient * y)
            }
            guard let x = a.number, let y = b.number else { throw unsupported() }
            guard y != 0 else { throw JinjaError(.render, "float division or modulo by zero", line: line) }
            let q = (x / y).rounded(.down)
            return op == "//" ? .double(q) : .double(x - q * y)
        case "**":
            if let x = a.integer, let y = b.integer, y >= 0 {
                var result = 1
                for _ in 0..<min(y, 64) {
                    let (r, overflow) = result.multipliedReportingOverflow(by: x)
                    if overflow { return .double(pow(Double(x), Double(y))) }
                    result = r
                }
                return y > 64 && abs(x) > 1 ? .double(pow(Double(x), Double(y))) : .int(result)
            }
            guard let x = a.number, let y = b.number else { throw unsupported() }
            return .double(pow(x, y))
        default:
            throw JinjaError(.render, "unknown operator \(op)", line: line)
        }
    }

    private func arithmetic(_ a: JinjaValue, _ b: JinjaValue, ints: (Int, Int) -> (partialValue: Int, overflow: Bool),
                            doubles: (Double, Double) -> Double) -> JinjaValue? {
        if let x = a.integer, let y = b.integer {
            let (result, overflow) = ints(x, y)
            return overflow ? .double(doubles(Double(x), Double(y))) : .int(result)
        }
        if let x = a.number, let y = b.number { return .double(doubles(x, y)) }
        return nil
    }

    /// -1, 0 or 1; nil when Python cannot order the two.
    func compare(_ a: JinjaValue, _ b: JinjaValue) -> Int? {
        if let x = a.number, let y = b.number { return x < y ? -1 : x > y ? 1 : 0 }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            let xs = Array(x.unicodeScalars.map(\.value)), ys = Array(y.unicodeScalars.map(\.value))
            return xs.lexicographicallyPrecedes(ys) ? -1 : xs == ys ? 0 : 1
        case (.array(let x), .array(let y)):
            for (p, q) in zip(x, y) {
                guard let order = compare(p, q) else { return nil }
                if order != 0 { return order }
            }
            return x.count < y.count ? -1 : x.count > y.count ? 1 : 0
        default:
            return nil
        }
    }

    func contains(_ container: JinjaValue, _ element: JinjaValue, line: Int?) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let needle) = element else {
                throw JinjaError(.render, "'in <string>' requires a string as left operand, not \(element.typeName)", line: line)
            }
            return needle.isEmpty || s.contains(needle)
        case .array(let items): return items.contains { $0.pythonEquals(element) }
        case .object(let object), .namespace(let object):
            if case .string(let key) = element { return object.contains(key) }
            return false
        case .undefined: return false
        default:
            throw JinjaError(.render, "argument of type \(container.typeName) is not iterable", line: line)
        }
    }

    /// `value.name`: a dict's item, or a method of the value, or undefined.
    func attribute(of value: JinjaValue, _ name: String) -> JinjaValue {
        switch value {
        case .object(let object):
            if object.contains(name) { return object[name] }
            if Self.dictMethods.contains(name) { return .callable(JinjaCallable(kind: .method(receiver: value, name: name))) }
        case .namespace(let object):
            return object[name]
        case .string:
            if Self.stringMethods.contains(name) { return .callable(JinjaCallable(kind: .method(receiver: value, name: name))) }
        default:
            break
        }
        return .undefined
    }

    /// `value[key]`: Python indexing (negative indices from the end), dict lookup; undefined when absent.
    func item(of value: JinjaValue, _ key: JinjaValue) -> JinjaValue {
        switch (value, key) {
        case (.array(let items), _):
            guard let i = key.integer else { return .undefined }
            let index = i < 0 ? items.count + i : i
            return items.indices.contains(index) ? items[index] : .undefined
        case (.string(let s), _):
            guard let i = key.integer else { return .undefined }
            let scalars = Array(s.unicodeScalars)
            let index = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(index) ? .string(String(scalars[index])) : .undefined
        case (.object(let object), .string(let name)):
            return object.contains(name) ? object[name] : attribute(of: value, name)
        case (.namespace(let object), .string(let name)):
            return object[name]
        default:
            return .undefined
        }
    }

    func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?, line: Int?) throws -> JinjaValue {
        func bound(_ v: JinjaValue?) throws -> Int? {
            guard let v, v != .none, v != .undefined else { return nil }
            guard let i = v.integer else { throw JinjaError(.render, "slice indices must be integers", line: line) }
            return i
        }
        let step = try bound(step) ?? 1
        guard step != 0 else { throw JinjaError(.render, "slice step cannot be zero", line: line) }
        func indices(_ count: Int) throws -> [Int] {
            func clamp(_ i: Int?, _ defaultValue: Int) -> Int {
                guard var i else { return defaultValue }
                if i < 0 { i += count }
                return step > 0 ? min(max(i, 0), count) : min(max(i, -1), count - 1)
            }
            let first = clamp(try bound(start), step > 0 ? 0 : count - 1)
            let last = clamp(try bound(stop), step > 0 ? count : -1)
            return Array(stride(from: first, to: last, by: step))
        }
        switch value {
        case .array(let items): return .array(try indices(items.count).map { items[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try indices(scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        case .undefined: return .undefined
        default: throw JinjaError(.render, "a \(value.typeName) cannot be sliced", line: line)
        }
    }
}
