import ArgumentParser
import FloraTensor
import Foundation

/// `--model`, shared by every subcommand that loads a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A .gguf file or a Hugging Face folder (default: the cached SmolLM2-135M-Instruct; `make model` fetches it).")
    var model: String?

    @Flag(name: .long, help: "Multiply Q8_0 and Q4_1 weights exactly (dequantized to fp32) instead of with int8 activations and the CPU's VNNI dot products: slower, and the logits of the fp32 path (FLORA_PRODUCTS=exact does the same).")
    var exactProducts = false

    /// How quantized products compute for this command.
    var products: QuantizedProducts { exactProducts ? .exact : .processDefault }

    static var defaultModelPath: String {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["FLORA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/flora").path
        return home + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    }

    func validate() throws {
        do { _ = try QuantizedProducts.environmentChoice() } catch { throw ValidationError(error.description) }
    }

    /// The path to load, or a validation error that says how to get the default model.
    func resolvedPath() throws -> String {
        let path = model ?? Self.defaultModelPath
        guard FileManager.default.fileExists(atPath: path) else {
            if model == nil {
                throw ValidationError("the default model is not cached at \(path); run scripts/fetch-model.sh (or `make model`), or pass --model PATH")
            }
            throw ValidationError("--model: no file or folder at \(path)")
        }
        return path
    }
}
