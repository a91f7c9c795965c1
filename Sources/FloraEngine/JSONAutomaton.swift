// A byte-level pushdown automaton for JSON (RFC 8259) under a compiled schema (JSONGrammar):
// it takes the UTF-8 bytes of a text one at a time and says whether they are still the start
// of a valid value. This is what a token mask asks of every vocabulary entry, so it is built
// for that: containers (objects, arrays) are frames on a stack; the leaves (strings, keys,
// numbers, literals) are one small lexer state beside it; and the stack lives in an arena of
// immutable entries linked to their parent, so that a state is a few integers, copying one is
// free, and many states sharing a stack (a walk over a token trie) can all advance from it.
// Changing the top frame appends a new entry; the arena is rebuilt from a compact `Cursor`
// at the start of each walk.
//
// What it allows beyond the grammar, so that every run ends (a model must not loop forever):
// at most `maxWhitespaceRun` whitespace characters in a row between tokens (none after the
// top-level value), at most `maxDepth` nested containers, numbers of at most 16 integer and 16
// fraction digits and a 2-digit exponent (so every number is a finite double). Strings must be
// valid UTF-8 and `\u` escapes may not be surrogates (a character past U+FFFF is written as
// UTF-8), so every accepted text parses with any JSON reader. A schema's `integer` is written
// without fraction or exponent.

struct JSONAutomaton {
    static let maxWhitespaceRun: UInt8 = 4
    static let maxDepth: Int32 = 64
    static let maxIntegerDigits: Int32 = 16
    static let maxFractionDigits: Int32 = 16
    static let maxExponentDigits: Int32 = 2

    /// One container being written; the root frame (node -1) holds the top-level value.
    struct Frame: Hashable {
        var node: Int32
        var phase: Phase
        /// The property whose value is being written (objects with a schema).
        var current: Int32 = -1
        /// Objects with a schema: the properties written (bit per sorted name). Arrays: items started.
        var count: UInt64 = 0
    }

    enum Phase: UInt8, Hashable {
        /// After `{` or `[`; the root: before its value.
        case open
        /// After a key, before `:`.
        case colon
        /// After `:`, before the value.
        case value
        /// After a value, before `,` or the closing bracket; the root: done.
        case afterValue
        /// After `,`.
        case comma
    }

    /// The leaf being lexed, if any.
    struct Lexer: Hashable {
        var kind: LexerKind = .none
        /// Strings: escape step; numbers: the part being read.
        var sub: UInt8 = 0
        /// Keys and literals: their node.
        var node: Int32 = 0
        /// Strings: UTF-8 continuation bytes still due; numbers: digits in this part; keys and
        /// literals: the first candidate (sorted index) that matches what was typed.
        var a: Int32 = 0
        /// Strings: the range of the next continuation byte (low << 8 | high); numbers: 1 for an
        /// integer; keys and literals: bytes typed.
        var b: Int32 = 0
    }

    enum LexerKind: UInt8, Hashable {
        case none, string, key, number, literal
    }

    /// A state: the top frame's arena entry and the lexer. Valid while the arena it points into
    /// is not reset.
    struct State {
        var top: Int32
        var depth: Int32
        var lexer: Lexer
        var whitespace: UInt8
    }

    /// A state without the arena: its stack, bottom first. What a sequence keeps between steps,
    /// and the key of its mask cache.
    struct Cursor: Hashable {
        var frames: [Frame]
        var lexer = Lexer()
        var whitespace: UInt8 = 0
    }

    struct Entry {
        var frame: Frame
        var parent: Int32
    }

    let grammar: JSONGrammar
    private(set) var arena: [Entry] = []

    init(_ grammar: JSONGrammar) {
        self.grammar = grammar
    }

    /// Before the first byte.
    var start: Cursor { Cursor(frames: [Frame(node: -1, phase: .open)]) }

    /// A state on a fresh arena (which invalidates every state made before).
    mutating func load(_ cursor: Cursor) -> State {
        arena.removeAll(keepingCapacity: true)
        for (i, frame) in cursor.frames.enumerated() { arena.append(Entry(frame: frame, parent: Int32(i) - 1)) }
        return State(top: Int32(cursor.frames.count - 1), depth: Int32(cursor.frames.count - 1), lexer: cursor.lexer, whitespace: cursor.whitespace)
    }

    func store(_ state: State, into cursor: inout Cursor) {
        cursor.frames.removeAll(keepingCapacity: true)
        var at = state.top
        while at >= 0 {
            cursor.frames.append(arena[Int(at)].frame)
            at = arena[Int(at)].parent
        }
        cursor.frames.reverse()
        cursor.lexer = state.lexer
        cursor.whitespace = state.whitespace
    }

    // MARK: Stepping

    /// Advances `state` by one byte; false (state unspecified) when no valid text continues so.
    mutating func advance(_ state: inout State, _ byte: UInt8) -> Bool {
        if state.lexer.kind != .none {
            switch lex(&state, byte) {
            case .consumed:
                state.whitespace = 0
                return true
            case .dead:
                return false
            case .endedBefore:
                state.lexer.kind = .none   // the byte belongs to the container: go on below
            }
        }
        var frame = arena[Int(state.top)].frame
        if Self.isWhitespace(byte) {
            guard state.whitespace < Self.maxWhitespaceRun, !(frame.node < 0 && frame.phase == .afterValue) else { return false }
            state.whitespace += 1
            return true
        }
        state.whitespace = 0
        guard frame.node >= 0 else {   // the root
            guard frame.phase == .open else { return false }
            frame.phase = .afterValue
            replaceTop(&state, frame)
            return startValue(&state, grammar.root, byte)
        }
        switch grammar.nodes[Int(frame.node)] {
        case .object(let object):
            switch (frame.phase, byte) {
            case (.open, UInt8(ascii: "}")), (.afterValue, UInt8(ascii: "}")):
                guard object.required & ~frame.count == 0 else { return false }
                pop(&state)
                return true
            case (.open, UInt8(ascii: "\"")), (.comma, UInt8(ascii: "\"")):
                guard let first = object.names.indices.first(where: { frame.count & (1 << UInt64($0)) == 0 }) else { return false }
                frame.phase = .colon
                replaceTop(&state, frame)
                state.lexer = Lexer(kind: .key, node: frame.node, a: Int32(first), b: 0)
                return true
            case (.afterValue, UInt8(ascii: ",")):
                guard frame.count != object.all else { return false }
                frame.phase = .comma
                replaceTop(&state, frame)
                return true
            case (.colon, UInt8(ascii: ":")):
                frame.phase = .value
                replaceTop(&state, frame)
                return true
            case (.value, _):
                frame.phase = .afterValue
                replaceTop(&state, frame)
                return startValue(&state, object.values[Int(frame.current)], byte)
            default:
                return false
            }
        case .freeObject(let value):
            switch (frame.phase, byte) {
            case (.open, UInt8(ascii: "}")), (.afterValue, UInt8(ascii: "}")):
                pop(&state)
                return true
            case (.open, UInt8(ascii: "\"")), (.comma, UInt8(ascii: "\"")):
                frame.phase = .colon
                replaceTop(&state, frame)
                state.lexer = Lexer(kind: .string)
                return true
            case (.afterValue, UInt8(ascii: ",")):
                frame.phase = .comma
                replaceTop(&state, frame)
                return true
            case (.colon, UInt8(ascii: ":")):
                frame.phase = .value
                replaceTop(&state, frame)
                return true
            case (.value, _):
                frame.phase = .afterValue
                replaceTop(&state, frame)
                return startValue(&state, value, byte)
            default:
                return false
            }
        case .array(let items, let minItems, let maxItems):
            switch (frame.phase, byte) {
            case (.open, UInt8(ascii: "]")), (.afterValue, UInt8(ascii: "]")):
                guard frame.count >= UInt64(minItems) else { return false }
                pop(&state)
                return true
            case (.afterValue, UInt8(ascii: ",")):
                guard frame.count < UInt64(maxItems) else { return false }
                frame.phase = .comma
                replaceTop(&state, frame)
                return true
            case (.open, _), (.comma, _):
                guard frame.count < UInt64(maxItems) else { return false }
                frame.phase = .afterValue
                frame.count += 1
                replaceTop(&state, frame)
                return startValue(&state, items, byte)
            default:
                return false
            }
        default:
            return false   // leaves have no frames
        }
    }

    /// Whether the text so far is a whole value (a stop token may follow).
    func isAccepting(_ state: State) -> Bool {
        let frame = arena[Int(state.top)].frame
        guard frame.node < 0, frame.phase == .afterValue else { return false }
        switch state.lexer.kind {
        case .none: return true
        case .number: return state.lexer.sub == 1 || state.lexer.sub == 2 || state.lexer.sub == 4 || state.lexer.sub == 7
        case .literal:
            guard case .literals(let values) = grammar.nodes[Int(state.lexer.node)] else { return false }
            return values[Int(state.lexer.a)].count == Int(state.lexer.b)
        case .string, .key: return false
        }
    }

    /// Whether any byte can follow (false: the text is finished or stuck).
    mutating func canContinue(_ state: State) -> Bool {
        for byte in 0...255 {
            var next = state
            if advance(&next, UInt8(byte)) { return true }
        }
        return false
    }

    mutating func replaceTop(_ state: inout State, _ frame: Frame) {
        arena.append(Entry(frame: frame, parent: arena[Int(state.top)].parent))
        state.top = Int32(arena.count - 1)
    }

    private mutating func push(_ state: inout State, _ frame: Frame) -> Bool {
        guard state.depth < Self.maxDepth else { return false }
        arena.append(Entry(frame: frame, parent: state.top))
        state.top = Int32(arena.count - 1)
        state.depth += 1
        return true
    }

    private func pop(_ state: inout State) {
        state.top = arena[Int(state.top)].parent
        state.depth -= 1
    }

    /// The first byte of a value of `node`, its parent already past it.
    private mutating func startValue(_ state: inout State, _ node: Int32, _ byte: UInt8) -> Bool {
        var node = node
        if case .anyOf(let dispatch) = grammar.nodes[Int(node)] {
            node = dispatch[Int(byte)]
            guard node >= 0 else { return false }
        }
        switch grammar.nodes[Int(node)] {
        case .object, .freeObject:
            return byte == UInt8(ascii: "{") && push(&state, Frame(node: node, phase: .open))
        case .array:
            return byte == UInt8(ascii: "[") && push(&state, Frame(node: node, phase: .open))
        case .string:
            guard byte == UInt8(ascii: "\"") else { return false }
            state.lexer = Lexer(kind: .string)
        case .number(let integer):
            let b: Int32 = integer ? 1 : 0
            switch byte {
            case UInt8(ascii: "-"): state.lexer = Lexer(kind: .number, sub: 0, b: b)
            case UInt8(ascii: "0"): state.lexer = Lexer(kind: .number, sub: 1, b: b)
            case UInt8(ascii: "1")...UInt8(ascii: "9"): state.lexer = Lexer(kind: .number, sub: 2, a: 1, b: b)
            default: return false
            }
        case .literals(let values):
            guard let first = values.firstIndex(where: { $0[0] == byte }) else { return false }
            state.lexer = Lexer(kind: .literal, node: node, a: Int32(first), b: 1)
        case .anyOf:
            return false
        }
        return true
    }

    // MARK: Whole texts

    /// Whether `text` is one whole value of the grammar (`whole`), or the start of one.
    mutating func accepts(_ text: some Sequence<UInt8>, whole: Bool) -> Bool {
        var state = load(start)
        for byte in text where !advance(&state, byte) { return false }
        return !whole || isAccepting(state)
    }

    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

extension JSONGrammar {
    /// Whether `text` (UTF-8) is a whole value of this grammar.
    public func accepts(_ text: some Sequence<UInt8>) -> Bool {
        var automaton = JSONAutomaton(self)
        return automaton.accepts(text, whole: true)
    }

    /// Whether `text` (UTF-8) can still become a value of this grammar.
    public func acceptsPrefix(_ text: some Sequence<UInt8>) -> Bool {
        var automaton = JSONAutomaton(self)
        return automaton.accepts(text, whole: false)
    }
}
