// Expressions of Flora's Jinja subset, parsed by recursive descent with Jinja's precedence
// (jinja2/parser.py), lowest first: `a if c else b`, `or`, `and`, `not`, comparisons and
// `in`/`not in` (chained: `a < b < c`), `+ -`, `~`, `* / // %`, `**`, unary `- +`, then filters
// `|f(...)` and tests `is [not] t`, then postfix `.attr`, `[index]`, `[a:b:c]`, calls.

/// Recursive-descent parser of the tokens of one tag.
struct ExprParser {
    private let tokens: [JinjaToken]
    private var pos = 0
    private let line: Int

    init(_ tokens: [JinjaToken], line: Int) {
        self.tokens = tokens
        self.line = line
    }

    private var current: JinjaToken? { pos < tokens.count ? tokens[pos] : nil }
    private var currentLine: Int { current?.line ?? tokens.last?.line ?? line }

    func peek(op: String) -> Bool { current?.kind == .op && current?.text == op }
    private func peek(name: String) -> Bool { current?.kind == .name && current?.text == name }

    mutating func skip(op: String) -> Bool {
        if peek(op: op) { pos += 1; return true }
        return false
    }

    mutating func skip(name: String) -> Bool {
        if peek(name: name) { pos += 1; return true }
        return false
    }

    mutating func expect(op: String) throws {
        guard skip(op: op) else { throw error("expected `\(op)`") }
    }

    mutating func expectName() throws -> String {
        guard let token = current, token.kind == .name else { throw error("expected a name") }
        pos += 1
        return token.text
    }

    func expectEnd() throws {
        if current != nil { throw error("unexpected extra tokens") }
    }

    private func error(_ message: String) -> JinjaError {
        let found = current.map { "`\($0.text)`" } ?? "the end of the tag"
        return JinjaError(.syntax, "\(message), found \(found)", line: currentLine)
    }

    /// An expression, or several separated by commas (a tuple, as a list value).
    mutating func parseTuple(allowConditional: Bool) throws -> JinjaExpr {
        let first = try parseExpression(allowConditional: allowConditional)
        guard peek(op: ",") else { return first }
        var elements = [first]
        while skip(op: ",") {
            if current == nil || peek(op: ")") { break }
            elements.append(try parseExpression(allowConditional: allowConditional))
        }
        return .list(elements)
    }

    mutating func parseExpression(allowConditional: Bool = true) throws -> JinjaExpr {
        let expr = try parseOr()
        guard allowConditional, skip(name: "if") else { return expr }
        let condition = try parseOr()
        let otherwise = skip(name: "else") ? try parseExpression() : nil
        return .conditional(then: expr, condition: condition, otherwise: otherwise)
    }

    private mutating func parseOr() throws -> JinjaExpr {
        var left = try parseAnd()
        while skip(name: "or") { left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpr {
        var left = try parseNot()
        while skip(name: "and") { left = .and(left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpr {
        if skip(name: "not") { return .unary("not", try parseNot()) }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> JinjaExpr {
        var left = try parseMath1()
        var result: JinjaExpr? = nil
        while true {
            let op: String
            let operatorLine = currentLine
            if let token = current, token.kind == .op, ["==", "!=", "<", "<=", ">", ">="].contains(token.text) {
                op = token.text
                pos += 1
            } else if skip(name: "in") {
                op = "in"
            } else if peek(name: "not"), pos + 1 < tokens.count, tokens[pos + 1].kind == .name, tokens[pos + 1].text == "in" {
                pos += 2
                op = "not in"
            } else {
                break
            }
            let right = try parseMath1()
            // Chained comparisons: a < b < c means a < b and b < c.
            let comparison = JinjaExpr.binary(op, left, right, line: operatorLine)
            result = result.map { .and($0, comparison) } ?? comparison
            left = right
        }
        return result ?? left
    }

    private mutating func parseBinary(_ ops: [String], _ operand: (inout ExprParser) throws -> JinjaExpr) throws -> JinjaExpr {
        var left = try operand(&self)
        while let token = current, token.kind == .op, ops.contains(token.text) {
            pos += 1
            left = .binary(token.text, left, try operand(&self), line: token.line)
        }
        return left
    }

    private mutating func parseMath1() throws -> JinjaExpr { try parseBinary(["+", "-"]) { try $0.parseConcat() } }
    private mutating func parseConcat() throws -> JinjaExpr { try parseBinary(["~"]) { try $0.parseMath2() } }
    private mutating func parseMath2() throws -> JinjaExpr { try parseBinary(["*", "/", "//", "%"]) { try $0.parsePow() } }
    private mutating func parsePow() throws -> JinjaExpr { try parseBinary(["**"]) { try $0.parseUnary(withFilters: true) } }

    private mutating func parseUnary(withFilters: Bool) throws -> JinjaExpr {
        var expr: JinjaExpr
        if skip(op: "-") {
            expr = .unary("-", try parseUnary(withFilters: false))
        } else if skip(op: "+") {
            expr = .unary("+", try parseUnary(withFilters: false))
        } else {
            expr = try parsePrimary()
        }
        expr = try parsePostfix(expr)
        return withFilters ? try parseFiltersAndTests(expr) : expr
    }

    private mutating func parsePrimary() throws -> JinjaExpr {
        guard let token = current else { throw error("expected an expression") }
        pos += 1
        switch token.kind {
        case .name:
            switch token.text {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(token.text)
            }
        case .string:
            var text = token.text
            while let next = current, next.kind == .string { text += next.text; pos += 1 }
            return .literal(.string(text))
        case .integer: return .literal(.int(token.integer))
        case .float: return .literal(.double(token.float))
        case .op:
            switch token.text {
            case "(":
                if skip(op: ")") { return .list([]) }
                let expr = try parseExpression()
                if skip(op: ")") { return expr }
                var elements = [expr]
                while skip(op: ",") {
                    if peek(op: ")") { break }
                    elements.append(try parseExpression())
                }
                try expect(op: ")")
                return .list(elements)
            case "[":
                var elements: [JinjaExpr] = []
                while !skip(op: "]") {
                    if !elements.isEmpty { try expect(op: ","); if skip(op: "]") { break } }
                    elements.append(try parseExpression())
                }
                return .list(elements)
            case "{":
                var pairs: [(JinjaExpr, JinjaExpr)] = []
                while !skip(op: "}") {
                    if !pairs.isEmpty { try expect(op: ","); if skip(op: "}") { break } }
                    let key = try parseExpression()
                    try expect(op: ":")
                    pairs.append((key, try parseExpression()))
                }
                return .dict(pairs)
            default:
                pos -= 1
                throw error("expected an expression")
            }
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var expr = base
        while true {
            if skip(op: ".") {
                guard let token = current else { throw error("expected an attribute name") }
                pos += 1
                switch token.kind {
                case .name: expr = .member(expr, token.text)
                case .integer: expr = .index(expr, .literal(.int(token.integer)))
                default: pos -= 1; throw error("expected an attribute name")
                }
            } else if skip(op: "[") {
                expr = try parseSubscript(expr)
            } else if peek(op: "(") {
                expr = .call(expr, try parseArguments())
            } else {
                return expr
            }
        }
    }

    private mutating func parseSubscript(_ base: JinjaExpr) throws -> JinjaExpr {
        var parts: [JinjaExpr?] = [nil]
        var isSlice = false
        while !skip(op: "]") {
            if skip(op: ":") {
                isSlice = true
                parts.append(nil)
                guard parts.count <= 3 else { throw error("too many `:` in slice") }
            } else {
                guard parts[parts.count - 1] == nil else { throw error("expected `]`") }
                parts[parts.count - 1] = try parseExpression()
            }
        }
        if !isSlice {
            guard let index = parts[0] else { throw error("expected an index") }
            return .index(base, index)
        }
        while parts.count < 3 { parts.append(nil) }
        return .slice(base, start: parts[0], stop: parts[1], step: parts[2])
    }

    mutating func parseArguments() throws -> JinjaArguments {
        try expect(op: "(")
        var arguments = JinjaArguments()
        while !skip(op: ")") {
            if !arguments.positional.isEmpty || !arguments.keyword.isEmpty {
                try expect(op: ",")
                if skip(op: ")") { break }
            }
            if let token = current, token.kind == .name, pos + 1 < tokens.count,
               tokens[pos + 1].kind == .op, tokens[pos + 1].text == "=" {
                pos += 2
                arguments.keyword.append((token.text, try parseExpression()))
            } else {
                guard arguments.keyword.isEmpty else { throw error("positional argument after keyword argument") }
                arguments.positional.append(try parseExpression())
            }
        }
        return arguments
    }

    private mutating func parseFiltersAndTests(_ base: JinjaExpr) throws -> JinjaExpr {
        var expr = base
        while true {
            if skip(op: "|") {
                let filterLine = currentLine
                var name = try expectName()
                while skip(op: ".") { name += "." + (try expectName()) }
                let arguments = peek(op: "(") ? try parseArguments() : JinjaArguments()
                expr = .filter(expr, name: name, arguments, line: filterLine)
            } else if skip(name: "is") {
                let testLine = currentLine
                let negated = skip(name: "not")
                // `none`, `true` … are test names here, not literals.
                var name = try expectName()
                while skip(op: ".") { name += "." + (try expectName()) }
                var arguments = JinjaArguments()
                if peek(op: "(") {
                    arguments = try parseArguments()
                } else if let token = current, startsBareTestArgument(token) {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                expr = .test(expr, name: name, arguments, negated: negated, line: testLine)
            } else if peek(op: "(") {
                expr = .call(expr, try parseArguments())
            } else {
                return expr
            }
        }
    }

    /// Jinja allows one argument without parentheses: `x is divisibleby 3`, `x is sameas none`.
    private func startsBareTestArgument(_ token: JinjaToken) -> Bool {
        switch token.kind {
        case .string, .integer, .float: return true
        case .name: return !["and", "or", "not", "in", "is", "if", "else"].contains(token.text)
        case .op: return token.text == "[" || token.text == "{"
        }
    }
}
