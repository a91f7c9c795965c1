// Checkpoints survive what interrupts them: a damaged (torn) checkpoint is refused by resume
// with an error naming the file, a half-written one (no manifest yet) is passed over for the
// previous one, and a full disk while writing one fails clearly and keeps the previous one.

import FloraFormats
import FloraModel
import FloraTestSupport
import FloraTraining
import Foundation
import Testing

@Suite struct CheckpointDurabilityTests {
    /// A two-step fLoRA run on the tiny model with a checkpoint after each step; returns the
    /// output folder and what resuming needs.
    static func trainedRun() throws -> (out: String, model: any CausalLanguageModel, datasets: [TrainingDataset]) {
        let model = try Tiny.model()
        var options = TrainingOptions(kind: .lora, rank: 2, targets: [.qProj, .vProj], steps: 3)
        options.batchSize = 2
        options.evalEvery = 0
        options.saveEvery = 1
        let v = Int32(model.config.vocabularySize)
        let datasets = [TrainerTests.dataset("one", step: 1, vocabulary: v, seed: 3)]
        let out = try TestFiles.scratchDirectory()
        try Trainer(model: model, datasets: datasets, options: options, outputDirectory: out).run(stopAfter: 2)
        return (out, model, datasets)
    }

    @Test("A checkpoint whose file was cut short is refused by resume, naming the file")
    func tornCheckpointIsRefused() throws {
        let (out, model, datasets) = try Self.trainedRun()
        let checkpoint = try Checkpoint.locate(out)
        #expect(checkpoint.hasSuffix("checkpoint-000002"))
        let weights = checkpoint + "/one/adapter_model.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
        do {
            _ = try Trainer(resumingFrom: checkpoint, model: model, datasets: datasets, outputDirectory: try TestFiles.scratchDirectory())
            Issue.record("a torn checkpoint was accepted")
        } catch let error as TrainingError {
            let message = error.description
            #expect(message.contains("one/adapter_model.safetensors") && message.contains("damaged"), "\(message)")
            #expect(message.contains("\(bytes.count / 2) bytes"), "\(message)")
        }
    }

    @Test("A checkpoint folder without its manifest (a write killed midway) is passed over for the previous checkpoint")
    func halfWrittenCheckpointIsSkipped() throws {
        let (out, model, datasets) = try Self.trainedRun()
        try FileManager.default.removeItem(atPath: out + "/checkpoint-000002/" + TrainerState.fileName)
        let checkpoint = try Checkpoint.locate(out)
        #expect(checkpoint.hasSuffix("checkpoint-000001"))
        let trainer = try Trainer(resumingFrom: checkpoint, model: model, datasets: datasets, outputDirectory: try TestFiles.scratchDirectory())
        #expect(trainer.step == 1)
    }

    /// The disk fills after this fraction of a checkpoint's bytes.
    @Test("A full disk while checkpointing fails with a clear error and keeps the previous checkpoint", arguments: [0.0, 0.3, 0.9])
    func fullDiskKeepsPreviousCheckpoint(fraction: Double) throws {
        let (out, model, datasets) = try Self.trainedRun()
        let previous = out + "/checkpoint-000002"
        let checkpointBytes = try #require(try Checkpoint.readState(previous).files).values.reduce(0) { $0 + $1.bytes }
        let spaceBytes = Int(Double(checkpointBytes) * fraction)
        let trainer = try Trainer(resumingFrom: try Checkpoint.locate(out), model: model, datasets: datasets, outputDirectory: out)
        let next = out + "/checkpoint-000003"
        do {
            try DurableFile.$injectedDiskSpace.withValue(InjectedDiskSpace(bytes: spaceBytes)) {
                try trainer.save(to: next)
            }
            Issue.record("the checkpoint was written on a full disk")
        } catch let error as TrainingError {
            #expect(error.description.contains("No space left on device") && error.description.contains("previous one is kept"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: next))
        let kept = try Checkpoint.locate(out)
        #expect(kept.hasSuffix("checkpoint-000002"))
        #expect(try Checkpoint.readState(kept).step == 2)
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: out).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
    }

    @Test("Every checkpoint's manifest names each of its files with size and hash")
    func manifestListsFiles() throws {
        let (out, _, _) = try Self.trainedRun()
        let state = try Checkpoint.readState(out + "/checkpoint-000001")
        #expect(Set(state.files?.keys.map { $0 } ?? []) == ["one/adapter_config.json", "one/adapter_model.safetensors", TrainerState.optimizerFileName])
        let size = try FileManager.default.attributesOfItem(atPath: out + "/checkpoint-000001/" + TrainerState.optimizerFileName)[.size] as? Int
        #expect(state.files?[TrainerState.optimizerFileName]?.bytes == size)
    }
}
