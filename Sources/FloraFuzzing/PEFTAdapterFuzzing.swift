// A PEFT adapter folder as `POST /v1/load_lora_adapter` or `--adapter-dir` meets it: the input
// is adapter_config.json and adapter_model.safetensors (split at `FuzzInput.separator`), written
// into a scratch folder and loaded against a tiny two-layer Llama's shapes. Inspecting and
// loading must agree: a folder that inspects must load, unless its values are not finite.

import FloraAdapters
import FloraFormats
import Foundation

enum PEFTAdapterFuzzing {
    /// Two layers, hidden 8, 2 heads of 4 (1 key-value head), intermediate 16.
    static let shapes = try! AdapterTargetShapes.llama(
        layers: 2, hiddenSize: 8, attentionHeads: 2, keyValueHeads: 1, headDimension: 4, intermediateSize: 16)

    /// One scratch folder per process; every input overwrites its two files.
    static let folder: String = {
        let path = NSTemporaryDirectory() + "/flora-fuzz-peft-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func run(_ data: [UInt8]) {
        let parts = FuzzInput.parts(data, count: 2)
        guard FileManager.default.createFile(atPath: folder + "/" + PEFTFolder.configFileName, contents: Data(parts[0])),
              FileManager.default.createFile(atPath: folder + "/" + PEFTFolder.weightsFileName, contents: Data(parts[1]))
        else { return }
        let manifest = try? AdapterLoader.inspect(folder: folder, shapes: shapes)
        do {
            let weights = try AdapterLoader.load(folder: folder, name: "fuzz", shapes: shapes)
            invariant(manifest != nil, "the adapter loads but does not inspect")
            invariant(weights.kind == manifest?.kind, "loaded as \(weights.kind), inspected as \(String(describing: manifest?.kind))")
        } catch let error as FormatError {
            invariant(manifest == nil || error.kind == .invalidValue,
                      "the adapter inspects but does not load, for a reason other than its values: \(error)")
        } catch {
            invariant(manifest == nil, "the adapter inspects but does not load: \(error)")
        }
    }
}
