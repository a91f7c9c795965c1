// scripts/peft_check.py: with torch, transformers, peft and gguf installed, a LoRA, an IA3, a
// DoRA (`use_dora`), a RoAd and an fLoRA adapter written by Flora give transformers' logits on
// SmolLM2; without them the script says it skipped and succeeds.

import FloraAdapters
import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import FloraTraining
import Foundation
import Testing

@Suite struct PEFTCheckTests {
    /// `FLORA_PEFT_PYTHON` names a Python with torch and PEFT (a virtual environment, say);
    /// otherwise the first `python3` on `PATH`.
    static let interpreter: String = {
        let environment = ProcessInfo.processInfo.environment
        if let named = environment["FLORA_PEFT_PYTHON"] { return named }
        let directories = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return directories.map { $0 + "/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "python3"
    }()

    static func python(_ arguments: [String]) throws -> (status: Int32, output: String)? {
        guard FileManager.default.isExecutableFile(atPath: interpreter) else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: interpreter)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("Adapters written by Flora give transformers + PEFT's logits (or the check skips without torch)", arguments: [
        AdapterKind.lora, .ia3, .flora, .dora, .road,
    ])
    func peftAgreesWithFlora(kind: AdapterKind) throws {
        let script = TestFiles.repositoryRoot + "/scripts/peft_check.py"
        if ProcessInfo.processInfo.environment["FLORA_PEFT_PYTHON"] != nil {
            // A Python named on purpose must exist: skipping would hide the check it was named for.
            try #require(FileManager.default.isExecutableFile(atPath: Self.interpreter), "FLORA_PEFT_PYTHON=\(Self.interpreter) is not an executable file")
        }
        guard let probe = try Self.python(["-c", "import torch, transformers, peft, gguf"]) else { return }
        if probe.status != 0 {
            let run = try #require(try Self.python([script, "--model", "unused.gguf", "--adapter", "unused"]))
            #expect(run.status == 0 && run.output.hasPrefix("skipped:"), "\(run.output)")
            return
        }
        let modelPath = try TestFiles.modelPath()
        let loaded = try ModelLoader.load(path: modelPath, products: .exact)
        let model = try loaded.requireModel()
        let targets: [TargetModule] = kind == .ia3 ? [.kProj, .vProj, .downProj] : [.qProj, .kProj, .vProj]
        let weights = try AdapterWeights.initialized(
            name: "check", kind: kind, rank: 4, targets: targets, shapes: model.adapterShapes, seed: 3, random: true, alpha: 8,
            baseWeights: model)
        let folder = try TestFiles.scratchDirectory() + "/check"
        try AdapterWriter.write(weights, to: folder)
        let engine = try GradientEngine(model: model, adapters: [try TrainableAdapter(weights, baseWeights: model)])
        let ids = loaded.tokenizer.encode("sub add { my ($a, $b) = @_; return $a + $b; }")
        let logits = try engine.logits(tokens: ids, adapter: 0)
        let dump = try TestFiles.scratchDirectory() + "/logits.safetensors"
        try SafetensorsWriter.write(
            tensors: [("logits", Tensor(shape: [ids.count, model.dimensions.vocabularySize], values: logits))],
            metadata: ["input_ids": "[" + ids.map(String.init).joined(separator: ",") + "]"], to: dump)
        let run = try #require(try Self.python([script, "--model", modelPath, "--adapter", folder, "--logits", dump]))
        #expect(run.status == 0, "\(run.output)")
    }
}
