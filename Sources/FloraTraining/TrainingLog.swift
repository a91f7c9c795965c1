// `<out>/log.jsonl`: one JSON object per line, appended as the run goes — `{"type": "train", ...}`
// after every step, `{"type": "eval", ...}` after every evaluation.

import Foundation

struct TrainingLog {
    let path: String

    init(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.checkpoint(path: directory, detail: "cannot create the output folder (\((error as NSError).localizedDescription))")
        }
        path = (directory as NSString).appendingPathComponent("log.jsonl")
    }

    func append(_ step: StepReport, names: [String]) throws {
        try append([
            "type": "train", "step": step.step, "learning_rate": Double(step.learningRate),
            "loss": Dictionary(uniqueKeysWithValues: zip(names, step.losses)),
            "grad_norm": Dictionary(uniqueKeysWithValues: zip(names, step.gradientNorms)),
            "tokens": step.tokens, "tokens_per_second": step.tokensPerSecond, "elapsed_seconds": step.elapsedSeconds,
        ])
    }

    func append(_ evaluation: EvaluationReport) throws {
        var losses: [String: Any] = [:], perplexities: [String: Any] = [:]
        for (name, loss) in zip(evaluation.names, evaluation.losses) {
            losses[name] = loss ?? NSNull()
            perplexities[name] = loss.map { exp($0) } ?? NSNull()
        }
        try append(["type": "eval", "step": evaluation.step, "loss": losses, "perplexity": perplexities])
    }

    private func append(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) + Data("\n".utf8)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw TrainingError.checkpoint(path: path, detail: "cannot append to the log")
        }
        defer { try? handle.close() }
        handle.seekToEndOfFile()
        handle.write(data)
    }
}
