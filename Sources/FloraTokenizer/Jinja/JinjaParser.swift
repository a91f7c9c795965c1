// Parser for Flora's Jinja subset: statements `if/elif/else`, `for … in … [if …]` with `else`,
// `set` (also `ns.attr` and block form), `macro`, `filter`, `break`/`continue`, `generation`;
// expressions with Jinja's precedence (jinja2/parser.py): conditional < or < and < not <
// comparisons and `in` < `+ -` < `~` < `* / // %` < `**` < unary minus < filters and tests <
// postfix (`.attr`, `[index]`, `[a:b]`, calls).

struct JinjaParser {
    private let items: [JinjaLexItem]
    private var index = 0

    static func parse(_ source: String) throws -> [JinjaNode] {
        var parser = JinjaParser(items: try JinjaLexer.lex(source))
        let (nodes, end) = try parser.parseBody(until: [])
        if let end { throw JinjaError(.syntax, "unexpected `{% \(end.name) %}`", line: end.line) }
        return nodes
    }

    private init(items: [JinjaLexItem]) { self.items = items }

    private struct EndTag {
        var name: String
        var tokens: ExprParser
        var line: Int
    }

    /// Nodes up to one of `endNames` (returned with the rest of its tag), or to the end of the template.
    private mutating func parseBody(until endNames: Set<String>) throws -> ([JinjaNode], EndTag?) {
        var nodes: [JinjaNode] = []
        while index < items.count {
            let item = items[index]
            index += 1
            switch item {
            case .text(let text):
                nodes.append(.text(text))
            case .output(let tokens, let line):
                var p = ExprParser(tokens, line: line)
                let expr = try p.parseExpression()
                try p.expectEnd()
                nodes.append(.output(expr, line: line))
            case .statement(let tokens, let line):
                var p = ExprParser(tokens, line: line)
                let keyword = try p.expectName()
                if endNames.contains(keyword) { return (nodes, EndTag(name: keyword, tokens: p, line: line)) }
                if let node = try parseStatement(keyword, &p, line: line) { nodes.append(contentsOf: node) }
            }
        }
        if !endNames.isEmpty {
            let expected = endNames.sorted().map { "`{% \($0) %}`" }.joined(separator: " or ")
            throw JinjaError(.syntax, "unexpected end of template: expected \(expected)")
        }
        return (nodes, nil)
    }

    private mutating func parseStatement(_ keyword: String, _ p: inout ExprParser, line: Int) throws -> [JinjaNode]? {
        switch keyword {
        case "if":
            var branches: [(condition: JinjaExpr, body: [JinjaNode])] = []
            var condition = try p.parseExpression()
            try p.expectEnd()
            while true {
                let (body, end) = try parseBody(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                guard var end else { break }
                switch end.name {
                case "elif":
                    condition = try end.tokens.parseExpression()
                    try end.tokens.expectEnd()
                case "else":
                    try end.tokens.expectEnd()
                    let (otherwise, close) = try parseBody(until: ["endif"])
                    try close?.tokens.expectEnd()
                    return [.conditional(branches, otherwise: otherwise)]
                default:
                    try end.tokens.expectEnd()
                    return [.conditional(branches, otherwise: [])]
                }
            }
            return [.conditional(branches, otherwise: [])]
        case "for":
            var targets = [try p.expectName()]
            while p.skip(op: ",") { targets.append(try p.expectName()) }
            guard p.skip(name: "in") else { throw JinjaError(.syntax, "expected `in` in for loop", line: line) }
            let iterable = try p.parseTuple(allowConditional: false)
            let filter = p.skip(name: "if") ? try p.parseExpression(allowConditional: false) : nil
            try p.expectEnd()
            let (body, end) = try parseBody(until: ["else", "endfor"])
            var otherwise: [JinjaNode] = []
            if let end, end.name == "else" {
                try end.tokens.expectEnd()
                let (elseBody, close) = try parseBody(until: ["endfor"])
                try close?.tokens.expectEnd()
                otherwise = elseBody
            } else {
                try end?.tokens.expectEnd()
            }
            return [.loop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: line)]
        case "set":
            let first = try p.expectName()
            var target = JinjaSetTarget.names([first])
            if p.skip(op: ".") {
                target = .attribute(first, try p.expectName())
            } else {
                var names = [first]
                while p.skip(op: ",") { names.append(try p.expectName()) }
                target = .names(names)
            }
            if p.skip(op: "=") {
                let value = try p.parseTuple(allowConditional: true)
                try p.expectEnd()
                return [.set(target, value, line: line)]
            }
            try p.expectEnd()
            guard case .names(let names) = target, names.count == 1 else {
                throw JinjaError(.syntax, "a block `set` takes one variable name", line: line)
            }
            let (body, end) = try parseBody(until: ["endset"])
            try end?.tokens.expectEnd()
            return [.setBlock(names[0], body)]
        case "macro":
            let name = try p.expectName()
            try p.expect(op: "(")
            var parameters: [(name: String, defaultValue: JinjaExpr?)] = []
            while !p.skip(op: ")") {
                if !parameters.isEmpty { try p.expect(op: ",") }
                if p.skip(op: ")") { break }
                let parameter = try p.expectName()
                parameters.append((parameter, p.skip(op: "=") ? try p.parseExpression() : nil))
            }
            try p.expectEnd()
            let (body, end) = try parseBody(until: ["endmacro"])
            try end?.tokens.expectEnd()
            return [.macro(JinjaMacro(name: name, parameters: parameters, body: body))]
        case "filter":
            let name = try p.expectName()
            let arguments = p.peek(op: "(") ? try p.parseArguments() : JinjaArguments()
            try p.expectEnd()
            let (body, end) = try parseBody(until: ["endfilter"])
            try end?.tokens.expectEnd()
            return [.filterBlock(name: name, arguments, body, line: line)]
        case "generation":
            // Hugging Face's AssistantTracker marks assistant text; rendering is unchanged.
            try p.expectEnd()
            let (body, end) = try parseBody(until: ["endgeneration"])
            try end?.tokens.expectEnd()
            return body
        case "break":
            try p.expectEnd()
            return [.breakLoop]
        case "continue":
            try p.expectEnd()
            return [.continueLoop]
        default:
            throw JinjaError(.syntax, "unknown or unsupported tag `{% \(keyword) %}`", line: line)
        }
    }
}

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
