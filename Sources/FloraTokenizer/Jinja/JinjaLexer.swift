// Lexer for Flora's Jinja subset (Jinja2 template syntax, jinja.palletsprojects.com/templates).
// Splits a template into text, `{{ … }}` and `{% … %}` (comments `{# … #}` dropped) and applies
// whitespace control as Hugging Face renders chat templates: `trim_blocks` and `lstrip_blocks`
// on, `keep_trailing_newline` off, plus the `-` and `+` tag modifiers.

struct JinjaToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable { case name, string, integer, float, op }
    var kind: Kind
    /// Name, operator, or the decoded string literal.
    var text: String
    var integer: Int = 0
    var float: Double = 0
    var line: Int
}

enum JinjaLexItem: Equatable {
    case text(String)
    case output([JinjaToken], line: Int)
    case statement([JinjaToken], line: Int)
}

struct JinjaLexer {
    private enum TagKind { case output, statement, comment }

    private struct Tag {
        var kind: TagKind
        var tokens: [JinjaToken] = []
        var stripBefore = false, keepBefore = false, stripAfter = false, keepAfter = false
        var line: Int
    }

    private enum Piece {
        case text(String)
        case tag(Tag)
    }

    private let src: [Unicode.Scalar]
    private var pos = 0
    private var line = 1

    init(_ source: String) {
        var scalars = Array(source.unicodeScalars)
        // keep_trailing_newline=False: one final newline of the template is not output.
        if scalars.last == "\n" { scalars.removeLast(); if scalars.last == "\r" { scalars.removeLast() } }
        self.src = scalars
    }

    static func lex(_ source: String) throws -> [JinjaLexItem] {
        var lexer = JinjaLexer(source)
        return applyWhitespaceControl(try lexer.pieces())
    }

    // MARK: Pass 1: text and tags

    private mutating func pieces() throws -> [Piece] {
        var pieces: [Piece] = []
        var textStart = pos
        while pos < src.count {
            guard src[pos] == "{", pos + 1 < src.count, ["{", "%", "#"].contains(src[pos + 1]) else {
                if src[pos] == "\n" { line += 1 }
                pos += 1
                continue
            }
            pieces.append(.text(string(textStart..<pos)))
            let kind: TagKind = src[pos + 1] == "{" ? .output : src[pos + 1] == "%" ? .statement : .comment
            var tag = Tag(kind: kind, line: line)
            pos += 2
            if pos < src.count, src[pos] == "-" { tag.stripBefore = true; pos += 1 }
            else if pos < src.count, src[pos] == "+" { tag.keepBefore = true; pos += 1 }
            switch kind {
            case .comment: try skipComment(&tag)
            case .output, .statement: try lexTag(&tag)
            }
            if kind == .statement, tag.tokens.count == 1, tag.tokens[0].kind == .name, tag.tokens[0].text == "raw" {
                pieces.append(.tag(Tag(kind: .comment, stripBefore: tag.stripBefore, keepBefore: tag.keepBefore,
                                       stripAfter: tag.stripAfter, keepAfter: tag.keepAfter, line: tag.line)))
                let (body, endTag) = try rawBody(openedAt: tag.line)
                pieces.append(.text(body))
                pieces.append(.tag(endTag))
            } else {
                pieces.append(.tag(tag))
            }
            textStart = pos
        }
        pieces.append(.text(string(textStart..<src.count)))
        return pieces
    }

    private func string(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: src[range])
        return String(view)
    }

    private func startsWith(_ text: String, at index: Int) -> Bool {
        var i = index
        for scalar in text.unicodeScalars {
            guard i < src.count, src[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    private mutating func skipComment(_ tag: inout Tag) throws {
        while pos < src.count {
            if startsWith("#}", at: pos) {
                if pos > 0, src[pos - 1] == "-" { tag.stripAfter = true }
                pos += 2
                return
            }
            if src[pos] == "\n" { line += 1 }
            pos += 1
        }
        throw JinjaError(.syntax, "unclosed comment `{#`", line: tag.line)
    }

    /// The text up to `{% endraw %}`, and that end tag (as a comment-like tag for whitespace control).
    private mutating func rawBody(openedAt openLine: Int) throws -> (String, Tag) {
        let start = pos
        while pos < src.count {
            if startsWith("{%", at: pos) {
                var p = pos + 2
                var endTag = Tag(kind: .comment, line: line)
                if p < src.count, src[p] == "-" { endTag.stripBefore = true; p += 1 }
                else if p < src.count, src[p] == "+" { endTag.keepBefore = true; p += 1 }
                while p < src.count, src[p].properties.isWhitespace { p += 1 }
                if startsWith("endraw", at: p) {
                    p += 6
                    while p < src.count, src[p].properties.isWhitespace { p += 1 }
                    if p < src.count, src[p] == "-" { endTag.stripAfter = true; p += 1 }
                    else if p < src.count, src[p] == "+" { endTag.keepAfter = true; p += 1 }
                    if startsWith("%}", at: p) {
                        let body = string(start..<pos)
                        pos = p + 2
                        return (body, endTag)
                    }
                }
            }
            if src[pos] == "\n" { line += 1 }
            pos += 1
        }
        throw JinjaError(.syntax, "`{% raw %}` without `{% endraw %}`", line: openLine)
    }

    /// Tokens of a `{{ … }}` or `{% … %}` tag, up to and including its closing delimiter.
    private mutating func lexTag(_ tag: inout Tag) throws {
        let close = tag.kind == .output ? "}}" : "%}"
        while true {
            while pos < src.count, src[pos].properties.isWhitespace {
                if src[pos] == "\n" { line += 1 }
                pos += 1
            }
            guard pos < src.count else {
                throw JinjaError(.syntax, "unclosed tag: expected `\(close)`", line: tag.line)
            }
            if startsWith(close, at: pos) { pos += 2; return }
            if (src[pos] == "-" || src[pos] == "+"), startsWith(close, at: pos + 1) {
                if src[pos] == "-" { tag.stripAfter = true } else { tag.keepAfter = true }
                pos += 3
                return
            }
            tag.tokens.append(try token())
        }
    }

    private static let operators = ["//", "**", "==", "!=", "<=", ">=",
                                    "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", "{", "}",
                                    ",", ".", ":", "|", "="]

    private mutating func token() throws -> JinjaToken {
        let c = src[pos]
        if c == "_" || c.properties.isAlphabetic && c.isASCII {
            let start = pos
            while pos < src.count, src[pos] == "_" || (src[pos].isASCII && (src[pos].properties.isAlphabetic || ("0"..."9").contains(src[pos]))) {
                pos += 1
            }
            return JinjaToken(kind: .name, text: string(start..<pos), line: line)
        }
        if ("0"..."9").contains(c) { return number() }
        if c == "'" || c == "\"" { return try stringLiteral(quote: c) }
        for op in Self.operators where startsWith(op, at: pos) {
            pos += op.unicodeScalars.count
            return JinjaToken(kind: .op, text: op, line: line)
        }
        throw JinjaError(.syntax, "unexpected character \"\(c)\" in tag", line: line)
    }

    private mutating func number() -> JinjaToken {
        var digits = ""
        var isFloat = false
        func takeDigits() {
            while pos < src.count, ("0"..."9").contains(src[pos]) || src[pos] == "_" {
                if src[pos] != "_" { digits.unicodeScalars.append(src[pos]) }
                pos += 1
            }
        }
        takeDigits()
        if pos + 1 < src.count, src[pos] == ".", ("0"..."9").contains(src[pos + 1]) {
            isFloat = true
            digits += "."
            pos += 1
            takeDigits()
        }
        if pos < src.count, src[pos] == "e" || src[pos] == "E" {
            var p = pos + 1
            if p < src.count, src[p] == "+" || src[p] == "-" { p += 1 }
            if p < src.count, ("0"..."9").contains(src[p]) {
                isFloat = true
                digits += "e"
                pos += 1
                if src[pos] == "-" || src[pos] == "+" { digits.unicodeScalars.append(src[pos]); pos += 1 }
                takeDigits()
            }
        }
        if !isFloat, let value = Int(digits) {
            return JinjaToken(kind: .integer, text: digits, integer: value, line: line)
        }
        return JinjaToken(kind: .float, text: digits, float: Double(digits) ?? .infinity, line: line)
    }

    /// A Python string literal with its escapes decoded.
    private mutating func stringLiteral(quote: Unicode.Scalar) throws -> JinjaToken {
        let startLine = line
        pos += 1
        var out = String.UnicodeScalarView()
        while pos < src.count {
            let c = src[pos]
            if c == quote {
                pos += 1
                return JinjaToken(kind: .string, text: String(out), line: startLine)
            }
            if c == "\n" { line += 1 }
            if c == "\\", pos + 1 < src.count {
                let e = src[pos + 1]
                pos += 2
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "0": out.append("\0")
                case "\\", "'", "\"": out.append(e)
                case "\n": line += 1  // line continuation
                case "x", "u", "U":
                    let width = e == "x" ? 2 : e == "u" ? 4 : 8
                    let end = min(pos + width, src.count)
                    var hex = String.UnicodeScalarView()
                    hex.append(contentsOf: src[pos..<end])
                    guard hex.count == width, let value = UInt32(String(hex), radix: 16), let scalar = Unicode.Scalar(value) else {
                        throw JinjaError(.syntax, "invalid \\\(e) escape in string literal", line: line)
                    }
                    out.append(scalar)
                    pos = end
                default:
                    out.append("\\")
                    out.append(e)
                }
                continue
            }
            out.append(c)
            pos += 1
        }
        throw JinjaError(.syntax, "unclosed string literal", line: startLine)
    }

    // MARK: Pass 2: whitespace control

    private static func applyWhitespaceControl(_ pieces: [Piece]) -> [JinjaLexItem] {
        var items: [JinjaLexItem] = []
        for (index, piece) in pieces.enumerated() {
            switch piece {
            case .tag(let tag):
                switch tag.kind {
                case .output: items.append(.output(tag.tokens, line: tag.line))
                case .statement: items.append(.statement(tag.tokens, line: tag.line))
                case .comment: break
                }
            case .text(var text):
                let previous: Tag? = if index > 0, case .tag(let t) = pieces[index - 1] { t } else { nil }
                let next: Tag? = if index + 1 < pieces.count, case .tag(let t) = pieces[index + 1] { t } else { nil }
                var lineStarting = previous == nil
                if let previous {
                    if previous.stripAfter {
                        let stripped = text.drop { $0.isWhitespace }
                        lineStarting = text.dropLast(stripped.count).contains { $0 == "\n" || $0 == "\r\n" }
                        text = String(stripped)
                    } else if previous.kind != .output, !previous.keepAfter {
                        // trim_blocks: the first newline after a block tag goes.
                        if text.hasPrefix("\n") || text.hasPrefix("\r\n") {
                            text.removeFirst()
                            lineStarting = true
                        }
                    }
                }
                if let next {
                    if next.stripBefore {
                        while let last = text.last, last.isWhitespace { text.removeLast() }
                    } else if next.kind != .output, !next.keepBefore {
                        // lstrip_blocks: spaces and tabs between a line start and a block tag go.
                        let lineStart = text.lastIndex { $0 == "\n" || $0 == "\r\n" }.map { text.index(after: $0) }
                        if lineStart != nil || lineStarting {
                            let from = lineStart ?? text.startIndex
                            if text[from...].allSatisfy({ $0 == " " || $0 == "\t" }) { text.removeSubrange(from...) }
                        }
                    }
                }
                if !text.isEmpty { items.append(.text(text)) }
            }
        }
        return items
    }
}
