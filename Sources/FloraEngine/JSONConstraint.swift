// One sequence's JSON constraint (response_format json_object / json_schema): the automaton's
// state after the text generated so far, and the token mask it implies for the next step.
//
// The mask is the set of vocabulary tokens whose bytes keep the automaton alive (plus the stop
// tokens once the text is a whole value). It is computed by one walk over the token trie: each
// node's state is its parent's advanced by one byte, and a refused prefix skips its subtree,
// so a step costs one automaton step per live trie node instead of one per byte of the
// vocabulary. Masks are cached by state while the stack is shallow: inside a long string the
// state repeats, and a hit costs a hash. Logits outside the mask become −∞ before sampling, so
// greedy and sampled decoding, top-k, top-p and log-probabilities all see only allowed tokens.
//
// The sequence ends with `stop` as soon as its text is a whole value that nothing can extend
// (an object, array, string or literal at the top), without spending a step on a stop token.
//
// Owned by its request's stream on the engine core's thread: a class, so that the walk's
// scratch and the cache are reused in place rather than copied with the stream. Public so that
// a program (or a test) can drive it over its own logits.

import FloraTokenizer

public final class JSONConstraint {
    static let cachedMasks = 32
    /// Deeper stacks are rarely revisited: their masks are not cached.
    static let maxCachedDepth = 8

    private let trie: TokenTrie
    private var automaton: JSONAutomaton
    private var cursor: JSONAutomaton.Cursor
    private let stopTokens: [Int32]
    private let wordCount: Int
    /// States per trie depth during a walk.
    private var states: [JSONAutomaton.State]
    /// The current mask, one bit per token.
    private var mask: [UInt64]
    private var cache: [JSONAutomaton.Cursor: Int] = [:]
    /// `cachedMasks` masks of `wordCount` words, filled in order; cleared when full.
    private var cachePool: [UInt64]
    /// A token the automaton refused (a bug, as the mask allows none): the request fails.
    public private(set) var broken = false

    public init(grammar: JSONGrammar, trie: TokenTrie, stopTokens: Set<Int32>) {
        self.trie = trie
        automaton = JSONAutomaton(grammar)
        cursor = automaton.start
        self.stopTokens = stopTokens.sorted()
        wordCount = (trie.vocabularySize + 63) / 64
        let root = JSONAutomaton.State(top: 0, depth: 0, lexer: .init(), whitespace: 0)
        states = Array(repeating: root, count: trie.maxDepth + 1)
        mask = Array(repeating: 0, count: wordCount)
        cachePool = Array(repeating: 0, count: wordCount * Self.cachedMasks)
    }

    /// `logits` with −∞ for every token outside the mask, written to `scratch` (at least
    /// `logits.count` floats); nil when no token may follow.
    public func masked(_ logits: UnsafeBufferPointer<Float>, scratch: UnsafeMutablePointer<Float>) -> UnsafeBufferPointer<Float>? {
        guard !broken else { return nil }
        updateMask()
        var any = false
        mask.withUnsafeBufferPointer { words in
            for i in 0..<logits.count {
                let allowed = i < trie.vocabularySize && words[i >> 6] & (1 << UInt64(i & 63)) != 0
                scratch[i] = allowed ? logits[i] : -.infinity
                any = any || allowed
            }
        }
        return any ? UnsafeBufferPointer(start: scratch, count: logits.count) : nil
    }

    /// Moves past a generated token (not a stop token).
    public func accept(_ token: Int32) {
        var state = automaton.load(cursor)
        for byte in trie.bytes(of: token) where !automaton.advance(&state, byte) {
            broken = true
            return
        }
        automaton.store(state, into: &cursor)
    }

    /// The text is a whole value that no byte can extend.
    public var isFinished: Bool {
        let state = automaton.load(cursor)
        return automaton.isAccepting(state) && !automaton.canContinue(state)
    }

    /// Whether `token` is allowed now (for tests: the mask of the last `masked` call).
    public func allows(_ token: Int32) -> Bool { mask[Int(token) >> 6] & (1 << UInt64(token & 63)) != 0 }

    private func updateMask() {
        let cacheable = cursor.frames.count <= Self.maxCachedDepth
        if cacheable, let slot = cache[cursor] {
            for w in 0..<wordCount { mask[w] = cachePool[slot * wordCount + w] }
            return
        }
        computeMask()
        guard cacheable else { return }
        if cache.count == Self.cachedMasks { cache.removeAll(keepingCapacity: true) }
        let slot = cache.count
        cache[cursor] = slot
        for w in 0..<wordCount { cachePool[slot * wordCount + w] = mask[w] }
    }

    /// The walk over the trie (see the file header). Runs on locals taken out of `self`, so that
    /// the loop pays no exclusivity check on a class property per node.
    private func computeMask() {
        var automaton = JSONAutomaton(self.automaton.grammar)
        swap(&automaton, &self.automaton)
        defer { swap(&automaton, &self.automaton) }
        var states: [JSONAutomaton.State] = []
        swap(&states, &self.states)
        defer { swap(&states, &self.states) }
        var mask: [UInt64] = []
        swap(&mask, &self.mask)
        defer { swap(&mask, &self.mask) }

        for w in mask.indices { mask[w] = 0 }
        let root = automaton.load(cursor)
        states[0] = root
        trie.bytes.withUnsafeBufferPointer { bytes in
        trie.depths.withUnsafeBufferPointer { depths in
        trie.subtreeSizes.withUnsafeBufferPointer { sizes in
        trie.tokenStarts.withUnsafeBufferPointer { starts in
        trie.tokens.withUnsafeBufferPointer { tokens in
        states.withUnsafeMutableBufferPointer { states in
        mask.withUnsafeMutableBufferPointer { mask in
            var i = 1
            while i < bytes.count {
                let depth = Int(depths[i])
                var state = states[depth - 1]
                if automaton.advance(&state, bytes[i]) {
                    states[depth] = state
                    for t in Int(starts[i])..<Int(starts[i + 1]) {
                        let token = Int(tokens[t])
                        mask[token >> 6] |= 1 << UInt64(token & 63)
                    }
                    i += 1
                } else {
                    i += Int(sizes[i])
                }
            }
        }}}}}}}
        // A stop token ends the text, whatever its bytes: allowed exactly when the text is whole.
        let accepting = automaton.isAccepting(root)
        for token in stopTokens where Int(token) < trie.vocabularySize {
            if accepting { mask[Int(token) >> 6] |= 1 << UInt64(token & 63) } else { mask[Int(token) >> 6] &= ~(1 << UInt64(token & 63)) }
        }
    }
}
