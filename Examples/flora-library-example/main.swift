// Flora as a library: load a model, register an adapter folder, and stream two requests that
// share one batch, one through the adapter and one through the base model (docs/library.md).
// Usage: flora-library-example MODEL ADAPTER_FOLDER [PROMPT]

import FloraEngine
import FloraModel
import FloraTokenizer
import Foundation

func write(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

let arguments = CommandLine.arguments
guard arguments.count == 3 || arguments.count == 4 else {
    write("usage: flora-library-example MODEL ADAPTER_FOLDER [PROMPT]\n")
    exit(2)
}
// A .gguf file or a Hugging Face folder: the weights and the tokenizer that goes with them.
let loaded = try ModelLoader.load(path: arguments[1])
let engine = try Engine(model: try loaded.requireModel(), tokenizer: loaded.tokenizer)
// A PEFT folder (fLoRA, LoRA or IA3), read when a request first names it.
try await engine.registerAdapter(name: "mine", path: arguments[2])

let prompt = arguments.count == 4 ? arguments[3] : "Write a haiku about the sea."
let message = ChatMessage(role: "user", content: prompt)
let tokens = try loaded.tokenizer.encodeChat(messages: [message], addGenerationPrompt: true)
let parameters = SamplingParameters(maxTokens: 48)  // greedy; stops at the model's end token
// Both requests are in flight before either is read, so the engine runs them in one batch.
let runs: [(label: String, adapter: String?)] = [("mine", "mine"), ("base", nil)]
let streams = runs.map { engine.generate(EngineRequest(promptTokens: tokens, parameters: parameters, adapterName: $0.adapter)) }
for (run, stream) in zip(runs, streams) {
    write("[\(run.label)] ")
    for try await output in stream { write(output.text) }
    write("\n")
}
