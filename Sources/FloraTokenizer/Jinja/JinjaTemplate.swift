// A parsed Jinja template and the renderer that executes it. Scoping follows Jinja: a `for`
// body gets a fresh scope on every iteration (so `set` inside a loop does not leak out — the
// reason templates use `namespace()`), `if` bodies share their enclosing scope, a macro runs in
// the template's top-level scope plus its parameters.

/// A template parsed once and rendered many times.
public struct JinjaTemplate: Sendable {
    let nodes: [JinjaNode]

    /// Parses `source`; throws a `JinjaError` of kind `.syntax` naming the line.
    public init(_ source: String) throws {
        nodes = try JinjaParser.parse(source)
    }

    /// Renders with `context` as the top-level variables.
    public func render(_ context: [String: JinjaValue]) throws -> String {
        let renderer = JinjaRenderer(context)
        _ = try renderer.run(nodes)
        return renderer.output
    }
}

final class JinjaRenderer {
    enum Flow { case normal, breakLoop, continueLoop }

    var scopes: [[String: JinjaValue]]
    var output = ""
    private var depth = 0
    /// Bounds on what a template may do, so a broken one cannot hang a server.
    static let maxDepth = 64
    static let maxOutput = 16 << 20

    init(_ context: [String: JinjaValue]) { scopes = [context] }

    // MARK: Statements

    func run(_ nodes: [JinjaNode]) throws -> Flow {
        for node in nodes {
            let flow = try run(node)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func run(_ node: JinjaNode) throws -> Flow {
        switch node {
        case .text(let text):
            try write(text)
        case .output(let expr, let line):
            try write(try eval(expr, line: line).printed)
        case .conditional(let branches, let otherwise):
            for branch in branches where try eval(branch.condition).isTruthy {
                return try run(branch.body)
            }
            return try run(otherwise)
        case .loop(let targets, let iterable, let filter, let body, let otherwise, let line):
            return try runLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: line)
        case .set(let target, let expr, let line):
            try assign(target, try eval(expr, line: line), line: line)
        case .setBlock(let name, let body):
            let text = try capture { _ = try run(body) }
            scopes[scopes.count - 1][name] = .string(text)
        case .macro(let macro):
            scopes[scopes.count - 1][macro.name] = .callable(JinjaCallable(kind: .macro(macro)))
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        case .filterBlock(let name, let arguments, let body, let line):
            let text = try capture { _ = try run(body) }
            let args = try evalArguments(arguments, line: line)
            try write(try applyFilter(name, .string(text), args, line: line).printed)
        }
        return .normal
    }

    private func write(_ text: String) throws {
        output += text
        if output.utf8.count > Self.maxOutput {
            throw JinjaError(.render, "output exceeds \(Self.maxOutput) bytes")
        }
    }

    /// Runs `body` with output going to a fresh buffer, and returns that buffer.
    func capture(_ body: () throws -> Void) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        try body()
        return output
    }

    private func runLoop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode],
                         otherwise: [JinjaNode], line: Int) throws -> Flow {
        var items = try elements(of: try eval(iterable, line: line), line: line)
        if let filter {
            items = try items.filter { item in
                scopes.append(try bind(targets, item, line: line))
                defer { scopes.removeLast() }
                return try eval(filter, line: line).isTruthy
            }
        }
        if items.isEmpty { return try run(otherwise) }
        for (i, item) in items.enumerated() {
            var scope = try bind(targets, item, line: line)
            scope["loop"] = .dictionary([
                ("index", .int(i + 1)), ("index0", .int(i)),
                ("revindex", .int(items.count - i)), ("revindex0", .int(items.count - i - 1)),
                ("first", .bool(i == 0)), ("last", .bool(i == items.count - 1)),
                ("length", .int(items.count)),
                ("previtem", i > 0 ? items[i - 1] : .undefined),
                ("nextitem", i + 1 < items.count ? items[i + 1] : .undefined),
                ("depth", .int(1)), ("depth0", .int(0)),
            ])
            scopes.append(scope)
            let flow = try run(body)
            scopes.removeLast()
            if flow == .breakLoop { break }
        }
        return .normal
    }

    private func bind(_ targets: [String], _ item: JinjaValue, line: Int) throws -> [String: JinjaValue] {
        if targets.count == 1 { return [targets[0]: item] }
        let parts = try elements(of: item, line: line)
        guard parts.count == targets.count else {
            throw JinjaError(.render, "cannot unpack \(parts.count) values into \(targets.count) names", line: line)
        }
        return Dictionary(uniqueKeysWithValues: zip(targets, parts))
    }

    private func assign(_ target: JinjaSetTarget, _ value: JinjaValue, line: Int) throws {
        switch target {
        case .names(let names):
            if names.count == 1 {
                scopes[scopes.count - 1][names[0]] = value
            } else {
                for (name, part) in try bind(names, value, line: line) { scopes[scopes.count - 1][name] = part }
            }
        case .attribute(let variable, let attribute):
            // Namespaces behave as references: the assignment reaches the scope that holds them.
            for level in scopes.indices.reversed() {
                guard let found = scopes[level][variable] else { continue }
                guard case .namespace(var object) = found else {
                    throw JinjaError(.render, "cannot set attribute `\(attribute)` of `\(variable)`, a \(found.typeName) (only namespace() objects)", line: line)
                }
                object[attribute] = value
                scopes[level][variable] = .namespace(object)
                return
            }
            throw JinjaError(.render, "`\(variable)` is undefined", line: line)
        }
    }

    /// What a `for` loop iterates over.
    func elements(of value: JinjaValue, line: Int?) throws -> [JinjaValue] {
        switch value {
        case .array(let items): return items
        case .object(let object): return object.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw JinjaError(.render, "a \(value.typeName) is not iterable", line: line)
        }
    }

    // MARK: Expressions

    func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        if Self.globals.contains(name) { return .callable(JinjaCallable(kind: .global(name))) }
        return .undefined
    }

    func eval(_ expr: JinjaExpr, line: Int? = nil) throws -> JinjaValue {
        switch expr {
        case .literal(let value): return value
        case .name(let name): return lookup(name)
        case .list(let elements): return .array(try elements.map { try eval($0, line: line) })
        case .dict(let pairs):
            var object = JinjaObject()
            for (key, value) in pairs { object[try eval(key, line: line).printed] = try eval(value, line: line) }
            return .object(object)
        case .member(let base, let name):
            return attribute(of: try eval(base, line: line), name)
        case .index(let base, let index):
            return item(of: try eval(base, line: line), try eval(index, line: line))
        case .slice(let base, let start, let stop, let step):
            return try slice(try eval(base, line: line), start: try start.map { try eval($0, line: line) },
                             stop: try stop.map { try eval($0, line: line) }, step: try step.map { try eval($0, line: line) }, line: line)
        case .call(let callee, let arguments):
            let function = try eval(callee, line: line)
            return try call(function, try evalArguments(arguments, line: line), line: line)
        case .filter(let base, let name, let arguments, let filterLine):
            return try applyFilter(name, try eval(base, line: filterLine), try evalArguments(arguments, line: filterLine), line: filterLine)
        case .test(let base, let name, let arguments, let negated, let testLine):
            let result = try applyTest(name, try eval(base, line: testLine), try evalArguments(arguments, line: testLine), line: testLine)
            return .bool(result != negated)
        case .unary(let op, let operand):
            let value = try eval(operand, line: line)
            switch op {
            case "not": return .bool(!value.isTruthy)
            case "-":
                if let i = value.integer { return .int(-i) }
                if case .double(let d) = value { return .double(-d) }
            default:
                if value.number != nil { return value }
            }
            throw JinjaError(.render, "bad operand type for unary \(op): \(value.typeName)", line: line)
        case .binary(let op, let left, let right, let opLine):
            return try binary(op, try eval(left, line: opLine), try eval(right, line: opLine), line: opLine)
        case .and(let left, let right):
            let l = try eval(left, line: line)
            return l.isTruthy ? try eval(right, line: line) : l
        case .or(let left, let right):
            let l = try eval(left, line: line)
            return l.isTruthy ? l : try eval(right, line: line)
        case .conditional(let then, let condition, let otherwise):
            if try eval(condition, line: line).isTruthy { return try eval(then, line: line) }
            return try otherwise.map { try eval($0, line: line) } ?? .undefined
        }
    }

    func evalArguments(_ arguments: JinjaArguments, line: Int?) throws -> JinjaArgs {
        JinjaArgs(positional: try arguments.positional.map { try eval($0, line: line) },
                  keyword: try arguments.keyword.map { ($0.0, try eval($0.1, line: line)) })
    }

    func call(_ function: JinjaValue, _ args: JinjaArgs, line: Int?) throws -> JinjaValue {
        guard case .callable(let callable) = function else {
            throw JinjaError(.render, "a \(function.typeName) is not callable", line: line)
        }
        switch callable.kind {
        case .global(let name): return try callGlobal(name, args, line: line)
        case .method(let receiver, let name): return try callMethod(receiver, name, args, line: line)
        case .macro(let macro): return try callMacro(macro, args, line: line)
        }
    }

    private func callMacro(_ macro: JinjaMacro, _ args: JinjaArgs, line: Int?) throws -> JinjaValue {
        guard depth < Self.maxDepth else {
            throw JinjaError(.render, "macro calls nested deeper than \(Self.maxDepth)", line: line)
        }
        var scope: [String: JinjaValue] = [:]
        let saved = scopes
        scopes = [scopes[0]]
        depth += 1
        defer { scopes = saved; depth -= 1 }
        for (i, parameter) in macro.parameters.enumerated() {
            if i < args.positional.count {
                scope[parameter.name] = args.positional[i]
            } else if let value = args.keyword.first(where: { $0.0 == parameter.name })?.1 {
                scope[parameter.name] = value
            } else {
                scope[parameter.name] = try parameter.defaultValue.map { try eval($0, line: line) } ?? .undefined
            }
        }
        scopes.append(scope)
        return .string(try capture { _ = try run(macro.body) })
    }
}

/// Evaluated call arguments.
struct JinjaArgs {
    var positional: [JinjaValue] = []
    var keyword: [(String, JinjaValue)] = []

    /// The argument at `index`, or the keyword `name`.
    func get(_ index: Int, _ name: String) -> JinjaValue? {
        if index < positional.count { return positional[index] }
        return keyword.first { $0.0 == name }?.1
    }
}
