// The hand-written pre-tokenizer patterns against a real regex engine's splits, and the GGUF
// `pre` name table.

import Testing
import FloraTokenizer

@Suite("Pre-tokenizers")
struct PreTokenizerTests {
    static func preTokenizer(_ name: String) -> PreTokenizer {
        switch name {
        case "gpt2": .gpt2
        case "llama3": .llama3
        case "qwen2": .qwen2
        default: .smolLM
        }
    }

    @Test("Hand-written patterns split exactly as the regex engine does")
    func matchesRegexEngine() {
        var failures = 0
        for (pattern, text, pieces) in regexReferenceCases {
            let split = Self.preTokenizer(pattern).split(text)
            if split != pieces {
                failures += 1
                Issue.record("\(pattern) split \(text.debugDescription) into \(split), expected \(pieces)")
            }
            if failures > 10 { break }
        }
        #expect(regexReferenceCases.count > 500)
    }

    @Test("GPT-2 pattern on hand-checked strings", arguments: [
        ("Hello world", ["Hello", " world"]),
        ("I'm here, it's 2024!", ["I", "'m", " here", ",", " it", "'s", " 2024", "!"]),
        ("a   b", ["a", "  ", " b"]),
        ("end  ", ["end", "  "]),
        ("x\ny", ["x", "\n", "y"]),
        ("日本語 テキスト", ["日本語", " テキスト"]),
    ])
    func gpt2(_ text: String, _ pieces: [String]) {
        #expect(PreTokenizer.gpt2.split(text) == pieces)
    }

    @Test("SmolLM splits every digit before the GPT-2 pattern")
    func smolLMDigits() {
        #expect(PreTokenizer.smolLM.split("Numbers: 1234, x  1") ==
                ["Numbers", ":", " ", "1", "2", "3", "4", ",", " x", "  ", "1"])
        #expect(PreTokenizer.gpt2.split("Numbers: 1234, x  1") ==
                ["Numbers", ":", " 1234", ",", " x", " ", " 1"])
    }

    @Test("Llama 3 groups numbers by three and keeps line breaks with punctuation")
    func llama3() {
        #expect(PreTokenizer.llama3.split("1234567 I'M ok.\n\nNext") == ["123", "456", "7", " I", "'M", " ok", ".\n\n", "Next"])
        #expect(PreTokenizer.qwen2.split("12 ab") == ["1", "2", " ab"])
        // (?i) folds the long s to s, as regex engines do.
        #expect(PreTokenizer.llama3.split("it'ſ") == ["it", "'ſ"])
        #expect(PreTokenizer.gpt2.split("it'ſ") == ["it", "'", "ſ"])
    }

    @Test("GGUF pre-tokenizer names map to llama.cpp's pre-tokenizers", arguments: [
        ("smollm", PreTokenizer.smolLM, false), ("starcoder", .smolLM, false), ("refact", .smolLM, false),
        ("gpt2", .gpt2, false), ("default", .gpt2, false), ("llama-bpe", .llama3, true), ("llama3", .llama3, true),
        ("qwen2", .qwen2, false), ("deepseek-r1-qwen", .qwen2, false),
    ])
    func ggufNames(_ name: String, _ expected: PreTokenizer, _ ignoreMerges: Bool) throws {
        let (preTokenizer, ignores) = try PreTokenizer.gguf(name)
        #expect(preTokenizer == expected)
        #expect(ignores == ignoreMerges)
        #expect(try PreTokenizer.gguf(nil).preTokenizer == .gpt2)
    }

    @Test("An unknown GGUF pre-tokenizer name is refused with its name in the error")
    func unknownName() {
        #expect {
            try PreTokenizer.gguf("mystery-bpe")
        } throws: { error in
            "\(error)".contains("mystery-bpe")
        }
    }

    @Test("Regex sources from tokenizer.json files are recognised")
    func regexRecognition() {
        for pattern in SplitPattern.allCases { #expect(SplitPattern(regex: pattern.regex) == pattern) }
        #expect(SplitPattern(regex: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#) == .gpt2)
        #expect(SplitPattern(regex: #"\p{N}+|[a-z]+"#) == nil)
    }
}
