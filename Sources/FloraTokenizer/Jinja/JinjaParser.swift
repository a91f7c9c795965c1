// Parser for the statements of Flora's Jinja subset (Jinja2 template syntax): `if/elif/else`,
// `for … in … [if …]` with `else`, `set` (also `ns.attr` and block form), `macro`, `filter`,
// `break`/`continue`, and Hugging Face's `generation` block. Expressions: JinjaExpressionParser.swift.

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
