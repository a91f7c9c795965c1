// The leaves of JSONAutomaton: strings (and the keys of objects without a schema), keys of
// objects with a schema, numbers and literals. A leaf is lexed in the automaton's small `Lexer`
// state beside the stack; when it ends before a byte (a number, a literal), that byte goes to
// the container.

extension JSONAutomaton {
    enum LexResult {
        /// The byte is part of the leaf (which may have ended with it: the lexer says so).
        case consumed
        case dead
        /// The leaf ended before this byte, which its container must take.
        case endedBefore
    }

    mutating func lex(_ state: inout State, _ byte: UInt8) -> LexResult {
        switch state.lexer.kind {
        case .string: return lexString(&state.lexer, byte)
        case .number: return lexNumber(&state.lexer, byte)
        case .key: return lexKey(&state, byte)
        case .literal: return lexLiteral(&state.lexer, byte)
        case .none: return .endedBefore
        }
    }

    private func lexString(_ lexer: inout Lexer, _ byte: UInt8) -> LexResult {
        if lexer.a > 0 {   // inside a multi-byte character
            guard byte >= UInt8(lexer.b >> 8), byte <= UInt8(lexer.b & 0xFF) else { return .dead }
            lexer.a -= 1
            lexer.b = 0x80BF
            return .consumed
        }
        switch lexer.sub {
        case 0:
            switch byte {
            case UInt8(ascii: "\""): lexer.kind = .none
            case UInt8(ascii: "\\"): lexer.sub = 1
            case ..<0x20: return .dead
            case ..<0x80: break
            case 0xC2...0xDF: (lexer.a, lexer.b) = (1, 0x80BF)
            case 0xE0: (lexer.a, lexer.b) = (2, 0xA0BF)
            case 0xED: (lexer.a, lexer.b) = (2, 0x809F)
            case 0xE1...0xEF: (lexer.a, lexer.b) = (2, 0x80BF)
            case 0xF0: (lexer.a, lexer.b) = (3, 0x90BF)
            case 0xF1...0xF3: (lexer.a, lexer.b) = (3, 0x80BF)
            case 0xF4: (lexer.a, lexer.b) = (3, 0x808F)
            default: return .dead
            }
        case 1:   // after a backslash
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                lexer.sub = 0
            case UInt8(ascii: "u"): lexer.sub = 2
            default: return .dead
            }
        case 2:   // \u, first hex digit: d800-dfff would be half a surrogate pair
            guard Self.isHex(byte) else { return .dead }
            lexer.sub = byte == UInt8(ascii: "d") || byte == UInt8(ascii: "D") ? 4 : 3
        case 3:
            guard Self.isHex(byte) else { return .dead }
            lexer.sub = 5
        case 4:
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte) else { return .dead }
            lexer.sub = 5
        case 5:
            guard Self.isHex(byte) else { return .dead }
            lexer.sub = 6
        default:
            guard Self.isHex(byte) else { return .dead }
            lexer.sub = 0
        }
        return .consumed
    }

    /// Parts: 0 after `-`, 1 a leading `0`, 2 integer digits, 3 after `.`, 4 fraction digits,
    /// 5 after `e`, 6 after the exponent's sign, 7 exponent digits. 1, 2, 4 and 7 end a number.
    private func lexNumber(_ lexer: inout Lexer, _ byte: UInt8) -> LexResult {
        let digit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        let integer = lexer.b == 1
        let exponent = byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E")
        switch lexer.sub {
        case 0:
            guard digit else { return .dead }
            (lexer.sub, lexer.a) = byte == UInt8(ascii: "0") ? (1, 0) : (2, 1)
        case 1, 2:
            if digit, lexer.sub == 2, lexer.a < Self.maxIntegerDigits {
                lexer.a += 1
            } else if byte == UInt8(ascii: "."), !integer {
                lexer.sub = 3
            } else if exponent, !integer {
                lexer.sub = 5
            } else {
                return .endedBefore
            }
        case 3:
            guard digit else { return .dead }
            (lexer.sub, lexer.a) = (4, 1)
        case 4:
            if digit, lexer.a < Self.maxFractionDigits {
                lexer.a += 1
            } else if exponent {
                lexer.sub = 5
            } else {
                return .endedBefore
            }
        case 5:
            if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") {
                lexer.sub = 6
            } else {
                guard digit else { return .dead }
                (lexer.sub, lexer.a) = (7, 1)
            }
        case 6:
            guard digit else { return .dead }
            (lexer.sub, lexer.a) = (7, 1)
        default:
            guard digit, lexer.a < Self.maxExponentDigits else { return .endedBefore }
            lexer.a += 1
        }
        return .consumed
    }

    /// A key of an object with a schema: one of the properties not written yet.
    private mutating func lexKey(_ state: inout State, _ byte: UInt8) -> LexResult {
        guard case .object(let object) = grammar.nodes[Int(state.lexer.node)] else { return .dead }
        var frame = arena[Int(state.top)].frame
        let typed = Int(state.lexer.b)
        guard let match = Self.extend(object.names, from: Int(state.lexer.a), typed: typed, with: byte, where: { frame.count & (1 << UInt64($0)) == 0 })
        else { return .dead }
        state.lexer.a = Int32(match)
        state.lexer.b += 1
        if object.names[match].count == typed + 1 {   // the closing quote
            frame.current = Int32(match)
            frame.count |= 1 << UInt64(match)
            replaceTop(&state, frame)
            state.lexer.kind = .none
        }
        return .consumed
    }

    private func lexLiteral(_ lexer: inout Lexer, _ byte: UInt8) -> LexResult {
        guard case .literals(let values) = grammar.nodes[Int(lexer.node)] else { return .dead }
        let typed = Int(lexer.b)
        if let match = Self.extend(values, from: Int(lexer.a), typed: typed, with: byte, where: { _ in true }) {
            lexer.a = Int32(match)
            lexer.b += 1
            return .consumed
        }
        // The first candidate of a prefix is the shortest: it is whole when its length is typed.
        return values[Int(lexer.a)].count == typed ? .endedBefore : .dead
    }

    /// The first candidate at or after `first` (which matches the `typed` bytes) that also has
    /// `byte` next. Sorted candidates sharing a prefix are contiguous, so the search stops at
    /// the first that does not share it.
    private static func extend(_ candidates: [[UInt8]], from first: Int, typed: Int, with byte: UInt8, where allowed: (Int) -> Bool) -> Int? {
        let witness = candidates[first]
        var i = first
        while i < candidates.count {
            let candidate = candidates[i]
            if i != first, candidate.count < typed || !candidate[..<typed].elementsEqual(witness[..<typed]) { return nil }
            if candidate.count > typed, candidate[typed] == byte, allowed(i) { return i }
            i += 1
        }
        return nil
    }

    private static func isHex(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }
}
