// The Hugging Face files as typed values: tokenizer.json (the `tokenizers` library's
// serialization: model, added_tokens, normalizer, pre_tokenizer, post_processor, decoder) and
// tokenizer_config.json (transformers: chat_template, bos/eos/pad/unk tokens, add_bos/eos_token).
// Only the fields Flora reads; HuggingFaceComponents.swift turns them into Flora's stages.

struct HFTokenizerFile: Decodable {
    var added_tokens: [HFAddedToken]?
    var normalizer: HFComponent?
    var pre_tokenizer: HFComponent?
    var post_processor: HFComponent?
    var decoder: HFComponent?
    var model: HFModel
}

struct HFModel: Decodable {
    var type: String?
    var vocab: HFVocabulary?
    var merges: [HFMerge]?
    var unk_token: String?
    /// Unigram's unknown token.
    var unk_id: Int?
    var ignore_merges: Bool?
    var byte_fallback: Bool?
    var fuse_unk: Bool?
    var dropout: Double?
    var continuing_subword_prefix: String?
    var end_of_word_suffix: String?
}

/// BPE writes `{"token": id}`, Unigram `[["token", score], …]` in id order.
enum HFVocabulary: Decodable {
    case ids([String: TokenID])
    case scored([(token: String, score: Double)])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let ids = try? container.decode([String: TokenID].self) { self = .ids(ids); return }
        let entries = try container.decode([HFScoredToken].self)
        self = .scored(entries.map { ($0.token, $0.score) })
    }
}

/// `["token", score]`.
struct HFScoredToken: Decodable {
    var token: String
    var score: Double

    init(from decoder: Decoder) throws {
        var container = try decoder.unkeyedContainer()
        token = try container.decode(String.self)
        score = try container.decode(Double.self)
    }
}

/// A merge, written "a b" (older files) or ["a", "b"] (newer ones).
struct HFMerge: Decodable {
    var text: String

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let pair = try? container.decode([String].self), pair.count == 2 {
            text = pair[0] + " " + pair[1]
        } else {
            text = try container.decode(String.self)
        }
    }
}

struct HFAddedToken: Decodable {
    var id: TokenID
    var content: String
    var single_word: Bool?
    var lstrip: Bool?
    var rstrip: Bool?
    var special: Bool?
}

/// Any normalizer, pre-tokenizer, post-processor or decoder: the fields Flora reads of each.
struct HFComponent: Decodable {
    struct Pattern: Decodable {
        var Regex: String?
        var String: String?
    }
    struct TemplatePiece: Decodable {
        struct Special: Decodable { var id: String }
        struct Input: Decodable { var id: String }
        var SpecialToken: Special?
        /// The text's place (`$A`).
        var Sequence: Input?
    }

    var type: String
    var pretokenizers: [HFComponent]?
    var normalizers: [HFComponent]?
    var decoders: [HFComponent]?
    var processors: [HFComponent]?
    var add_prefix_space: Bool?
    var use_regex: Bool?
    var individual_digits: Bool?
    var pattern: Pattern?
    var behavior: String?
    var invert: Bool?
    var single: [TemplatePiece]?
    /// Prepend.
    var prepend: String?
    /// Replace (the replacement), Strip (the character stripped).
    var content: String?
    /// Metaspace.
    var replacement: String?
    var prepend_scheme: String?
    var split: Bool?
    /// Strip: how many characters at most from the start and from the end.
    var start: Int?
    var stop: Int?
}

/// tokenizer_config.json: a token is a string or an AddedToken object; the chat template a
/// string or a list of named templates.
struct HFTokenizerConfig: Decodable {
    var bos_token: HFTokenReference?
    var eos_token: HFTokenReference?
    var pad_token: HFTokenReference?
    var unk_token: HFTokenReference?
    var add_bos_token: Bool?
    var add_eos_token: Bool?
    var chat_template: HFChatTemplate?
}

struct HFTokenReference: Decodable {
    var content: String?

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { content = nil; return }
        if let text = try? container.decode(String.self) { content = text; return }
        struct Object: Decodable { var content: String }
        content = try container.decode(Object.self).content
    }
}

struct HFChatTemplate: Decodable {
    var defaultTemplate: String?

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) { defaultTemplate = text; return }
        struct Named: Decodable { var name: String; var template: String }
        let named = try container.decode([Named].self)
        defaultTemplate = (named.first { $0.name == "default" } ?? named.first)?.template
    }
}
