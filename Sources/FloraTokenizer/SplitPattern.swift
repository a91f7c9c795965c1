// Hand-written equivalents of the pre-tokenizer regular expressions of GPT-2, Llama 3 and
// Qwen2 (as written in their tokenizer.json files and in llama.cpp's `llm_tokenizer_bpe`).
// Each matcher returns where the regex's leftmost match starting at `i` ends, trying the
// alternatives in the regex's order, with the same greedy and backtracking outcome.

import Foundation

/// A known pre-tokenizer regex, recognised by its exact source text.
public enum SplitPattern: String, Sendable, CaseIterable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case llama3
    /// As `llama3` with single numbers (`\p{N}` for `\p{N}{1,3}`).
    case qwen2

    /// The regex this pattern implements.
    public var regex: String {
        switch self {
        case .gpt2: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
        case .llama3: #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        case .qwen2: #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        }
    }

    /// The pattern whose regex is `source`. Also accepts the spellings llama.cpp uses (without the
    /// final `|\s+`, whose matches llama.cpp keeps as unmatched pieces: the same split; and with
    /// the case-insensitive group spelled out as `'[sS]|…`).
    public init?(regex source: String) {
        for pattern in SplitPattern.allCases {
            let regex = pattern.regex
            let withoutLastAlternative = String(regex.dropLast(#"|\s+"#.count))
            if source == regex || source == withoutLastAlternative { self = pattern; return }
            if pattern != .gpt2 {
                let spelledOut = regex.replacingOccurrences(
                    of: "(?i:'s|'t|'re|'ve|'m|'ll|'d)", with: "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])")
                if source == spelledOut || source == String(spelledOut.dropLast(#"|\s+"#.count)) { self = pattern; return }
            }
        }
        return nil
    }

    /// End of the match that starts at `i` (`i < end`); always greater than `i`, because every
    /// character is matched by some alternative of these patterns.
    func matchEnd(_ text: ClassifiedText, _ i: Int, _ end: Int) -> Int {
        switch self {
        case .gpt2: Self.gpt2(text, i, end)
        case .llama3: Self.llama3(text, i, end, maxDigits: 3)
        case .qwen2: Self.llama3(text, i, end, maxDigits: 1)
        }
    }

    private static func gpt2(_ text: ClassifiedText, _ i: Int, _ end: Int) -> Int {
        let classes = text.classes
        if text.scalars[i] == "'", let e = contraction(text, i, end, ignoringCase: false) { return e }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one kind.
        let j = text.scalars[i] == " " && i + 1 < end ? i + 1 : i
        let kind = classes[j]
        if kind & CharClass.letter != 0 { return run(classes, from: j, end, while: CharClass.letter) }
        if kind & CharClass.number != 0 { return run(classes, from: j, end, while: CharClass.number) }
        if kind & CharClass.letterNumberOrSpace == 0 { return runOfOthers(classes, from: j, end) }
        return whitespace(classes, i, end)
    }

    private static func llama3(_ text: ClassifiedText, _ i: Int, _ end: Int, maxDigits: Int) -> Int {
        let classes = text.classes
        if text.scalars[i] == "'", let e = contraction(text, i, end, ignoringCase: true) { return e }
        let kind = classes[i]
        // `[^\r\n\p{L}\p{N}]?\p{L}+`
        if kind & CharClass.letter != 0 { return run(classes, from: i, end, while: CharClass.letter) }
        if kind & (CharClass.newline | CharClass.number) == 0, i + 1 < end, classes[i + 1] & CharClass.letter != 0 {
            return run(classes, from: i + 1, end, while: CharClass.letter)
        }
        // `\p{N}{1,maxDigits}`
        if kind & CharClass.number != 0 {
            var k = i
            while k < end, k - i < maxDigits, classes[k] & CharClass.number != 0 { k += 1 }
            return k
        }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        let j = text.scalars[i] == " " && i + 1 < end ? i + 1 : i
        if classes[j] & CharClass.letterNumberOrSpace == 0 {
            var k = runOfOthers(classes, from: j, end)
            while k < end, classes[k] & CharClass.newline != 0 { k += 1 }
            return k
        }
        // `\s*[\r\n]+`: the whitespace run up to and including its last line break.
        var k = i
        var lastNewline = -1
        while k < end, classes[k] & CharClass.whitespace != 0 {
            if classes[k] & CharClass.newline != 0 { lastNewline = k }
            k += 1
        }
        if lastNewline >= 0 { return lastNewline + 1 }
        return whitespace(classes, i, end)
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `i` (which holds the apostrophe).
    private static func contraction(_ text: ClassifiedText, _ i: Int, _ end: Int, ignoringCase: Bool) -> Int? {
        func letter(_ k: Int) -> UInt32? {
            guard k < end else { return nil }
            let value = text.scalars[k].value
            guard ignoringCase else { return value }
            if (0x41...0x5A).contains(value) { return value + 0x20 }
            // Unicode simple case folding, as the regex engines apply (?i): long s folds to s.
            return value == 0x17F ? 0x73 : value
        }
        guard let first = letter(i + 1) else { return nil }
        switch Unicode.Scalar(first) {
        case "s", "t", "m", "d": return i + 2
        case "r", "v":
            return letter(i + 2) == 0x65 ? i + 3 : nil  // 're, 've
        case "l":
            return letter(i + 2) == 0x6C ? i + 3 : nil  // 'll
        default: return nil
        }
    }

    /// `\s+(?!\S)|\s+` at `i` (which holds whitespace): a whitespace run leaves its last
    /// character to the word that follows, unless the run is one character or ends the text.
    private static func whitespace(_ classes: [UInt8], _ i: Int, _ end: Int) -> Int {
        let k = run(classes, from: i, end, while: CharClass.whitespace)
        if k == end || k - i == 1 { return k }
        return k - 1
    }

    @inline(__always)
    private static func run(_ classes: [UInt8], from start: Int, _ end: Int, while mask: UInt8) -> Int {
        var k = start
        while k < end, classes[k] & mask != 0 { k += 1 }
        return k
    }

    @inline(__always)
    private static func runOfOthers(_ classes: [UInt8], from start: Int, _ end: Int) -> Int {
        var k = start
        while k < end, classes[k] & CharClass.letterNumberOrSpace == 0 { k += 1 }
        return k
    }
}
