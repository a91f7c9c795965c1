// Every fixture string through the three files of one SentencePiece vocabulary, against the
// references recorded by scripts/fixtures/make_tokenizer_fixtures.py: llama.cpp's semantics for
// the GGUF, `tokenizers` for the two tokenizer.json shapes, and the decoder's text for all.

import Foundation
import Testing
import FloraTokenizer

@Suite("SentencePiece vocabularies against sentencepiece, tokenizers and llama.cpp")
struct SentencePieceFixtureTests {
    typealias Fixtures = SentencePieceFixtures

    @Test("The fixture holds at least 500 strings, and sentencepiece agrees with llama.cpp wherever no added token is written")
    func fixtureIsLargeEnough() throws {
        let file = try Fixtures.file.get()
        #expect(file.cases.count >= 500)
        for c in file.cases where !file.special.user_defined.contains(where: { c.sentencepiece.contains($0) }) {
            #expect(c.llamaCppPlain == c.sentencepiece, "\(c.text.debugDescription)")
        }
    }

    @Test("The GGUF is read as llama.cpp reads a \"llama\" vocabulary")
    func ggufVocabulary() throws {
        let tokenizer = try Fixtures.gguf.get()
        let file = try Fixtures.file.get()
        #expect(tokenizer.model == .sentencePieceBPE)
        #expect(tokenizer.vocabularySize == file.vocab_size)
        #expect(tokenizer.unknownTokenId == file.special.unk)
        #expect(tokenizer.bosTokenId == file.special.bos)
        #expect(tokenizer.eosTokenId == file.special.eos)
        #expect(tokenizer.addBOS && !tokenizer.addEOS)
        #expect(tokenizer.normalizer == .sentencePiece)
        #expect(tokenizer.decoder == .sentencePiece(.llama))
        #expect(tokenizer.stopTokenIds.contains(file.special.eos))
        for id in file.special.control + [file.special.unk, file.special.bos, file.special.eos] { #expect(tokenizer.isSpecial(id)) }
        for id in file.special.user_defined { #expect(!tokenizer.isSpecial(id) && tokenizer.addedTokens.contains { $0.id == id }) }
        #expect(tokenizer.token(for: tokenizer.id(for: "<0x0A>")!) == "<0x0A>")
        #expect(tokenizer.bytes(for: tokenizer.id(for: "<0x0A>")!) == [0x0A])
    }

    @Test("The tokenizer.json files are read as SentencePiece BPE with byte fallback")
    func jsonVocabulary() throws {
        let metaspace = try Fixtures.metaspaceJSON.get()
        let legacy = try Fixtures.legacyJSON.get()
        let gguf = try Fixtures.gguf.get()
        for tokenizer in [metaspace, legacy] {
            #expect(tokenizer.model == .bpe)
            #expect(tokenizer.tokens == gguf.tokens)
            #expect(tokenizer.bosTokenId == gguf.bosTokenId && tokenizer.eosTokenId == gguf.eosTokenId)
            #expect(tokenizer.decoder == .sentencePiece(.llama))
            #expect(tokenizer.chatTemplate == gguf.chatTemplate)
        }
        #expect(metaspace.metaspace == Metaspace(prependScheme: .first, split: false))
        #expect(metaspace.normalizer == .none && !metaspace.addBOS)
        #expect(legacy.metaspace == nil && legacy.normalizer == .sentencePiece && legacy.addBOS)
        #expect(legacy.unknownTokenId == 0 && metaspace.unknownTokenId == nil)
    }

    @Test("The GGUF gives llama.cpp's ids, with and without special tokens parsed", arguments: Fixtures.cases)
    func ggufEncodes(_ c: Fixtures.Case) throws {
        let tokenizer = try Fixtures.gguf.get()
        #expect(tokenizer.encode(c.text) == c.llamaCpp)
        #expect(tokenizer.encode(c.text, parseSpecialTokens: false) == c.llamaCppPlain)
    }

    @Test("transformers' tokenizer.json (Metaspace) gives tokenizers' ids", arguments: Fixtures.cases)
    func metaspaceJSONEncodes(_ c: Fixtures.Case) throws {
        #expect(try Fixtures.metaspaceJSON.get().encode(c.text) == c.hf)
    }

    @Test("The legacy tokenizer.json (Prepend and Replace normalizers) gives tokenizers' ids", arguments: Fixtures.cases)
    func legacyJSONEncodes(_ c: Fixtures.Case) throws {
        #expect(try Fixtures.legacyJSON.get().encode(c.text) == c.hfLegacy)
    }

    @Test("Every file decodes every id list to tokenizers' text, with and without special tokens", arguments: Fixtures.cases)
    func decodes(_ c: Fixtures.Case) throws {
        for tokenizer in [try Fixtures.gguf.get(), try Fixtures.metaspaceJSON.get(), try Fixtures.legacyJSON.get()] {
            for d in c.decodings {
                #expect(tokenizer.decode(d.ids) == d.text, "\(d.name)")
                #expect(tokenizer.decode(d.ids, skipSpecialTokens: true) == d.skippingSpecial, "\(d.name), skipping special tokens")
            }
        }
        // sentencepiece's own decoder agrees where it has no special tokens to hide.
        let plain = c.decodings[0]
        #expect(c.sentencepiece_own_decode ?? c.text == plain.skippingSpecial)
    }

    @Test("Streaming decode equals whole decode, token by token", arguments: Fixtures.cases)
    func streams(_ c: Fixtures.Case) throws {
        for tokenizer in [try Fixtures.gguf.get(), try Fixtures.metaspaceJSON.get()] {
            for skip in [false, true] {
                for d in c.decodings {
                    var stream = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: skip)
                    let pieces = d.ids.map { stream.append($0) } + [stream.finish()]
                    #expect(pieces.joined() == tokenizer.decode(d.ids, skipSpecialTokens: skip), "\(d.name)")
                    #expect(!pieces.contains { $0.unicodeScalars.contains("\u{FFFD}") } || c.text.unicodeScalars.contains("\u{FFFD}"))
                }
            }
        }
    }

    @Test("Decoding the encoding gives the text back wherever the reference does")
    func roundTrips() throws {
        let gguf = try Fixtures.gguf.get()
        let metaspace = try Fixtures.metaspaceJSON.get()
        var roundTrips = 0
        for c in Fixtures.cases {
            let reference = c.decodings
            if reference[1].text == c.text {
                #expect(gguf.decode(gguf.encode(c.text)) == c.text, "\(c.text.debugDescription)")
                roundTrips += 1
            }
            if reference[2].text == c.text { #expect(metaspace.decode(metaspace.encode(c.text)) == c.text, "\(c.text.debugDescription)") }
        }
        #expect(roundTrips > 450)
    }

    @Test("With special tokens added, BOS comes first where the file asks for it")
    func specialTokensAdded() throws {
        let file = try Fixtures.file.get()
        let metaspace = try Fixtures.metaspaceJSON.get()
        let legacy = try Fixtures.legacyJSON.get()
        let gguf = try Fixtures.gguf.get()
        for c in file.with_special_tokens {
            #expect(metaspace.encode(c.text, addSpecialTokens: true) == c.tokenizers)
            // Flora does not put a second BOS before a text that starts with one (tokenizers does).
            let expected = c.tokenizers_legacy.starts(with: [1, 1]) ? Array(c.tokenizers_legacy.dropFirst()) : c.tokenizers_legacy
            #expect(legacy.encode(c.text, addSpecialTokens: true) == expected)
            #expect(gguf.encode(c.text, addSpecialTokens: true) == expected)
        }
    }

    @Test("The Unigram tokenizer.json gives tokenizers' ids and decodes and streams to its decoder's text", arguments: Fixtures.cases)
    func unigram(_ c: Fixtures.Case) throws {
        let tokenizer = try Fixtures.unigramJSON.get()
        #expect(tokenizer.encode(c.text) == c.tokenizers_unigram)
        let whole = c.tokenizers_unigram_decoded ?? c.text
        #expect(tokenizer.decode(c.tokenizers_unigram) == whole)
        #expect(tokenizer.decode(c.tokenizers_unigram, skipSpecialTokens: true) == c.tokenizers_unigram_decoded_skip ?? whole)
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(c.tokenizers_unigram.map { stream.append($0) }.joined() + stream.finish() == whole)
    }

    @Test("The Unigram file is read as Unigram with byte fallback, Metaspace and the Metaspace decoder")
    func unigramVocabulary() throws {
        let tokenizer = try Fixtures.unigramJSON.get()
        #expect(tokenizer.model == .unigram)
        #expect(tokenizer.vocabularySize == 1000 && tokenizer.unknownTokenId == 0)
        #expect(tokenizer.metaspace == Metaspace(prependScheme: .always, split: true))
        #expect(tokenizer.decoder == .sentencePiece(SentencePieceDecoding(byteFallback: true, stripLeadingSpaces: 0, dropReplacementInFirstToken: true)))
    }

    @Test("A 100 KB text round-trips through every file")
    func largeText() throws {
        let text = SampleText.make(bytes: 100_000)
        for (name, tokenizer) in [("GGUF", try Fixtures.gguf.get()), ("tokenizer.json", try Fixtures.metaspaceJSON.get()),
                                  ("legacy tokenizer.json", try Fixtures.legacyJSON.get()), ("Unigram tokenizer.json", try Fixtures.unigramJSON.get())] {
            let start = Date()
            let ids = tokenizer.encode(text)
            let seconds = Date().timeIntervalSince(start)
            #expect(tokenizer.decode(ids) == text, "\(name)")
            print("\(name): \(text.utf8.count) bytes, \(ids.count) tokens in \(Int(seconds * 1000)) ms")
        }
    }
}
