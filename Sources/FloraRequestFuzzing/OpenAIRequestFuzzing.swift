// The OpenAI request bodies (the fuzz target fuzz-openai-request): the first byte picks the route (completions, chat completions,
// load or unload adapter), the rest is the body, checked as the server checks it before the
// engine, with a tiny tokenizer (and its chat template) and a 64-token context.

import FloraFuzzing
import FloraServer
import FloraTokenizer
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum OpenAIRequestFuzzing {
    static let maxModelLength = 64
    static let template = """
        {% for message in messages %}<|im_start|>{{ message['role'] }}
        {{ message['content'] }}<|im_end|>
        {% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
        {% endif %}
        """
    static let tokenizer = try? TinyTokenizers.byteLevel(chatTemplate: template)
    /// The adapter root load requests resolve in: a real, existing folder.
    static let adapterRoot: String = {
        let path = NSTemporaryDirectory() + "/flora-fuzz-adapters"
        try? FileManager.default.createDirectory(atPath: path + "/demo", withIntermediateDirectories: true)
        guard let real = realpath(path, nil) else { return path }
        defer { free(real) }
        return String(cString: real)
    }()

    /// The name of its corpus and crash folders under fuzz/.
    public static let name = "openai-request"

    public static func run(_ data: [UInt8]) {
        guard let selector = data.first, let tokenizer else { return }
        let routes = RequestBodyCheck.Route.allCases
        let route = routes[Int(selector) % routes.count]
        guard let accepted = try? RequestBodyCheck.check(
            route, body: Array(data.dropFirst()), tokenizer: tokenizer, maxModelLength: maxModelLength, maxTokensLimit: 32,
            adapterRoot: adapterRoot)
        else { return }
        invariant(accepted.promptLengths.allSatisfy { $0 > 0 && $0 < maxModelLength },
                  "prompt lengths \(accepted.promptLengths) were accepted for a \(maxModelLength)-token context")
        if let folder = accepted.adapterFolder {
            invariant(folder == adapterRoot || folder.hasPrefix(adapterRoot + "/"), "a load resolved to \(folder), outside \(adapterRoot)")
        }
    }

    /// The libFuzzer entry's body.
    public static func run(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
    }
}
