// Construction from Hugging Face files (tokenizer.json and tokenizer_config.json): byte-level
// BPE (GPT-2, Llama 3, Qwen2, SmolLM), and the SentencePiece shapes transformers writes — BPE
// over characters with byte fallback (Llama 2, Mistral, Gemma …) and Unigram.

import Foundation

extension Tokenizer {
    /// - Parameters:
    ///   - chatTemplate: overrides the config's template (e.g. from a chat_template.jinja file).
    ///   - source: the tokenizer.json file (or folder), named in errors.
    public convenience init(tokenizerJSON: Data, tokenizerConfigJSON: Data?, chatTemplate: String? = nil,
                            source: String = "tokenizer.json") throws {
        let spec: TokenizerSpec
        do {
            spec = try Self.spec(tokenizerJSON: tokenizerJSON, tokenizerConfigJSON: tokenizerConfigJSON, chatTemplate: chatTemplate)
        } catch let error as TokenizerError {
            throw error.inFile(source)
        }
        do {
            try self.init(spec)
        } catch let error as TokenizerError {
            throw error.inFile(source)
        }
    }

    static func spec(tokenizerJSON: Data, tokenizerConfigJSON: Data?, chatTemplate: String?) throws -> TokenizerSpec {
        let file: HFTokenizerFile
        do {
            file = try JSONDecoder().decode(HFTokenizerFile.self, from: tokenizerJSON)
        } catch {
            throw TokenizerError.invalid(field: "tokenizer.json", expected: "a Hugging Face tokenizer file", found: "\(error)")
        }
        var config: HFTokenizerConfig? = nil
        if let tokenizerConfigJSON {
            do {
                config = try JSONDecoder().decode(HFTokenizerConfig.self, from: tokenizerConfigJSON)
            } catch {
                throw TokenizerError.invalid(field: "tokenizer_config.json", expected: "a JSON object", found: "\(error)")
            }
        }
        return try file.spec(config: config, chatTemplate: chatTemplate)
    }
}

extension HFTokenizerFile {
    func spec(config: HFTokenizerConfig?, chatTemplate: String?) throws -> TokenizerSpec {
        let added = added_tokens ?? []
        let (tokens, scores) = try vocabulary(added)
        let tokenToId = TokenLookup(tokens)
        func id(of content: String) -> TokenID? { added.first { $0.content.utf8.elementsEqual(content.utf8) }?.id ?? tokenToId[content] }
        func id(of reference: HFTokenReference?, _ field: String) throws -> TokenID? {
            guard let content = reference?.content else { return nil }
            guard let found = id(of: content) else {
                throw TokenizerError.invalid(field: "tokenizer_config.json \(field)", expected: "a token of the vocabulary", found: "\"\(content)\"")
            }
            return found
        }

        var spec = TokenizerSpec(tokens: tokens)
        spec.addedTokens = added.map {
            AddedToken(content: $0.content, id: $0.id, special: $0.special ?? false,
                       lstrip: $0.lstrip ?? false, rstrip: $0.rstrip ?? false, singleWord: $0.single_word ?? false)
        }
        spec.normalizer = try HFComponents.normalizer(normalizer)
        let type = model.type ?? (model.merges != nil ? "BPE" : "?")
        switch type {
        case "BPE":
            for (field, value) in [("continuing_subword_prefix", model.continuing_subword_prefix), ("end_of_word_suffix", model.end_of_word_suffix)] {
                if let value, !value.isEmpty {
                    throw TokenizerError.unsupported(item: "model.\(field)", found: "\"\(value)\"", supported: "none")
                }
            }
            if let dropout = model.dropout, dropout > 0 {
                throw TokenizerError.unsupported(item: "model.dropout", found: "\(dropout)", supported: "none (deterministic encoding)")
            }
            spec.merges = (model.merges ?? []).map(\.text)
            spec.ignoreMerges = model.ignore_merges ?? false
            if Self.hasByteLevel(pre_tokenizer) {
                spec.model = .byteLevelBPE
                spec.preTokenizer = try HFComponents.byteLevelPreTokenizer(pre_tokenizer)
                spec.decoder = try HFComponents.byteLevelDecoder(decoder)
            } else {
                spec.model = .bpe
                (spec.preTokenizer, spec.metaspace) = try HFComponents.sentencePiecePreTokenizer(pre_tokenizer)
                spec.decoder = try HFComponents.sentencePieceDecoder(decoder)
                spec.byteFallback = model.byte_fallback ?? false
                spec.fuseUnknown = model.fuse_unk ?? false
            }
            let modelUnknown = try model.unk_token.map { content in
                guard let found = tokenToId[content] else {
                    throw TokenizerError.invalid(field: "model.unk_token", expected: "a token of the vocabulary", found: "\"\(content)\"")
                }
                return found
            }
            // A character-level model without unk_token drops what it cannot spell, whatever
            // tokenizer_config.json calls its unknown token.
            spec.unknownTokenId = spec.model == .bpe ? modelUnknown : try modelUnknown ?? id(of: config?.unk_token, "unk_token")
        case "Unigram":
            spec.model = .unigram
            spec.scores = scores
            (spec.preTokenizer, spec.metaspace) = try HFComponents.sentencePiecePreTokenizer(pre_tokenizer)
            spec.decoder = try HFComponents.sentencePieceDecoder(decoder)
            spec.byteFallback = model.byte_fallback ?? false
            if let unknown = model.unk_id {
                guard tokens.indices.contains(unknown) else {
                    throw TokenizerError.invalid(field: "model.unk_id", expected: "a token id in 0..<\(tokens.count)", found: "\(unknown)")
                }
                spec.unknownTokenId = TokenID(unknown)
            }
        default:
            throw TokenizerError.unsupported(item: "model.type", found: "\"\(type)\"", supported: "BPE, Unigram")
        }

        let template = HFComponents.templateSpecialTokens(post_processor)
        spec.bosTokenId = try id(of: config?.bos_token, "bos_token") ?? template.first.flatMap(id(of:))
        spec.eosTokenId = try id(of: config?.eos_token, "eos_token") ?? template.last.flatMap(id(of:))
        spec.padTokenId = try id(of: config?.pad_token, "pad_token")
        spec.addBOS = config?.add_bos_token ?? (template.first != nil)
        spec.addEOS = config?.add_eos_token ?? (template.last != nil)
        spec.chatTemplate = chatTemplate ?? config?.chat_template?.defaultTemplate
        return spec
    }

    /// The tokens in id order (vocabulary, then added tokens in their places), and Unigram's scores.
    private func vocabulary(_ added: [HFAddedToken]) throws -> (tokens: [String], scores: [Double]?) {
        guard let vocabulary = model.vocab else { throw TokenizerError.missing(field: "model.vocab") }
        let tokens: [String]
        var scores: [Double]? = nil
        switch vocabulary {
        case .ids(let vocab):
            let ids = Array(vocab.values) + added.map(\.id)
            let maxId = Int(ids.max() ?? -1)
            guard let minId = ids.min(), minId >= 0, maxId < 1 << 24 else {
                throw TokenizerError.invalid(field: "model.vocab", expected: "token ids in 0..<2^24",
                                             found: "ids \(ids.min() ?? 0)…\(maxId)")
            }
            var list = [String](repeating: "", count: maxId + 1)
            for (token, id) in vocab { list[Int(id)] = token }
            tokens = list
        case .scored(let entries):
            guard entries.count < 1 << 24 else {
                throw TokenizerError.invalid(field: "model.vocab", expected: "fewer than 2^24 tokens", found: "\(entries.count)")
            }
            if let beyond = added.first(where: { Int($0.id) >= entries.count || $0.id < 0 }) {
                throw TokenizerError.invalid(field: "added_tokens \"\(beyond.content)\"", expected: "an id in 0..<\(entries.count)", found: "\(beyond.id)")
            }
            tokens = entries.map(\.token)
            scores = entries.map(\.score)
        }
        var withAdded = tokens
        for token in added { withAdded[Int(token.id)] = token.content }
        return (withAdded, scores)
    }

    private static func hasByteLevel(_ component: HFComponent?) -> Bool {
        guard let component else { return false }
        if component.type == "ByteLevel" { return true }
        return (component.pretokenizers ?? []).contains { hasByteLevel($0) }
    }
}
