// Coverage-guided fuzzing of every input a user controls (docs/reliability.md). Each case is
// one libFuzzer target in fuzz/ (a one-line executable calling `run`) and, through the same
// `run`, the replay of every committed seed and crash input in the test suite. The OpenAI
// request bodies have their own target (FloraRequestFuzzing), so that the fuzzers of files
// build without the HTTP server's dependencies. A thrown error
// is a correct refusal; a crash, a hang or a memory blow-up is a bug, and so is a broken
// invariant, which `run` turns into a trap so that libFuzzer records the input.

public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A GGUF file: header, metadata, tensor infos, tensor data bounds, model config and tokenizer.
    case gguf
    /// A safetensors file: header (fast scanner and Codable reader agree), data offsets, values.
    case safetensors
    /// A PEFT folder: adapter_config.json and adapter_model.safetensors against a tiny model.
    case peftAdapter = "peft-adapter"
    /// A tokenizer.json (with tokenizer_config.json), then text through the tokenizer it builds.
    case tokenizerJSON = "tokenizer-json"
    /// A Jinja chat template rendered with messages taken from the same input.
    case chatTemplate = "chat-template"
    /// Text through encode and decode, and token ids through the streaming detokenizer.
    case text

    /// Runs one input. Returns normally for accepted and refused inputs alike.
    public func run(_ data: [UInt8]) {
        switch self {
        case .gguf: GGUFFuzzing.run(data)
        case .safetensors: SafetensorsFuzzing.run(data)
        case .peftAdapter: PEFTAdapterFuzzing.run(data)
        case .tokenizerJSON: TokenizerJSONFuzzing.run(data)
        case .chatTemplate: ChatTemplateFuzzing.run(data)
        case .text: TextFuzzing.run(data)
        }
    }

    /// The libFuzzer entry's body: `LLVMFuzzerTestOneInput(data, size)` calls this.
    public func run(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
}

/// A broken invariant: a bug even though nothing crashed. Traps, so that libFuzzer keeps the input.
package func invariant(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #file, line: UInt = #line) {
    if !condition { fatalError("fuzz invariant broken: \(message())", file: file, line: line) }
}

/// Splits one fuzz input into parts at a separator line, so that one input can carry several
/// files or fields; the fuzzer learns the separator from the seeds.
package enum FuzzInput {
    package static let separator: [UInt8] = Array("\n--flora-fuzz--\n".utf8)

    package static func parts(_ data: [UInt8], count: Int) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var start = 0, index = 0
        while parts.count < count - 1, index + separator.count <= data.count {
            if data[index] == separator[0], data[index ..< index + separator.count].elementsEqual(separator) {
                parts.append(Array(data[start ..< index]))
                index += separator.count
                start = index
            } else {
                index += 1
            }
        }
        parts.append(Array(data[start...]))
        while parts.count < count { parts.append([]) }
        return parts
    }

    package static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
