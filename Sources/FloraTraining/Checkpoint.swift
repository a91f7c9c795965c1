// Checkpoints: one PEFT folder per adapter (what `flora serve` and PEFT load), the AdamW moments
// in `optimizer.safetensors`, and `trainer_state.json` (step, options, data positions), written
// last so that a folder with it is complete.

import FloraAdapters
import FloraFormats
import FloraTensor
import Foundation

/// Everything besides the tensors that a resumed run needs to continue exactly.
public struct TrainerState: Sendable, Codable, Equatable {
    public static let fileName = "trainer_state.json"
    public static let optimizerFileName = "optimizer.safetensors"

    public struct DatasetPosition: Sendable, Codable, Equatable {
        public var name: String
        public var source: String
        /// `TrainingDataset.fingerprint`, hexadecimal.
        public var fingerprint: String
        /// Epoch and position of the adapter's shuffled data stream.
        public var epoch: Int
        public var position: Int
    }

    public var format = 1
    /// Optimiser steps completed.
    public var step: Int
    public var options: TrainingOptions
    public var datasets: [DatasetPosition]
    public var baseModel: String?
}

public enum Checkpoint {
    /// Writes the adapters (PEFT folders named after them), their moments and `state` into `folder`.
    public static func write(to folder: String, adapters: [TrainableAdapter], moments: [AdamWState], state: TrainerState) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.checkpoint(path: folder, detail: "cannot create the folder (\((error as NSError).localizedDescription))")
        }
        var tensors: [(name: String, tensor: Tensor)] = []
        for (adapter, moment) in zip(adapters, moments) {
            try AdapterWriter.write(adapter.weights(), to: (folder as NSString).appendingPathComponent(adapter.name))
            tensors.append(("\(adapter.name).exp_avg", Tensor(shape: [adapter.parameterCount], storage: moment.firstMoment)))
            tensors.append(("\(adapter.name).exp_avg_sq", Tensor(shape: [adapter.parameterCount], storage: moment.secondMoment)))
        }
        try SafetensorsWriter.write(tensors: tensors, to: (folder as NSString).appendingPathComponent(TrainerState.optimizerFileName))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = (folder as NSString).appendingPathComponent(TrainerState.fileName)
        do {
            try encoder.encode(state).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw TrainingError.checkpoint(path: path, detail: "cannot write (\((error as NSError).localizedDescription))")
        }
    }

    /// The checkpoint folder `path` names: itself when it holds `trainer_state.json`, else its
    /// `checkpoint-<step>` subfolder with the highest step.
    public static func locate(_ path: String) throws -> String {
        let fm = FileManager.default
        if fm.fileExists(atPath: (path as NSString).appendingPathComponent(TrainerState.fileName)) { return path }
        guard let entries = try? fm.contentsOfDirectory(atPath: path) else {
            throw TrainingError.checkpoint(path: path, detail: "no such folder")
        }
        let steps = entries.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("checkpoint-"), let step = Int(name.dropFirst("checkpoint-".count)) else { return nil }
            let folder = (path as NSString).appendingPathComponent(name)
            return fm.fileExists(atPath: (folder as NSString).appendingPathComponent(TrainerState.fileName)) ? (step, folder) : nil
        }
        guard let latest = steps.max(by: { $0.0 < $1.0 }) else {
            throw TrainingError.checkpoint(path: path, detail: "expected a checkpoint (\(TrainerState.fileName), or checkpoint-<step> folders holding one), found none")
        }
        return latest.1
    }

    public static func readState(_ folder: String) throws -> TrainerState {
        let path = (folder as NSString).appendingPathComponent(TrainerState.fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.checkpoint(path: path, detail: "cannot be read")
        }
        do {
            let state = try JSONDecoder().decode(TrainerState.self, from: data)
            guard state.format == 1 else { throw TrainingError.checkpoint(path: path, detail: "format \(state.format), expected 1") }
            return state
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.checkpoint(path: path, detail: "not a trainer state (\(error))")
        }
    }

    /// The adapters and moments of the checkpoint in `folder`, for a model of `shapes`.
    public static func readAdapters(
        _ folder: String, state: TrainerState, shapes: AdapterTargetShapes
    ) throws -> (adapters: [TrainableAdapter], moments: [AdamWState]) {
        let optimizerPath = (folder as NSString).appendingPathComponent(TrainerState.optimizerFileName)
        let optimizer = try SafetensorsFile(path: optimizerPath)
        var adapters: [TrainableAdapter] = []
        var moments: [AdamWState] = []
        for dataset in state.datasets {
            let weights = try AdapterLoader.load(folder: (folder as NSString).appendingPathComponent(dataset.name), name: dataset.name, shapes: shapes)
            try weights.refuseVocabularyModules(for: "training")
            let adapter = try TrainableAdapter(weights)
            let first = try optimizer.tensor("\(dataset.name).exp_avg"), second = try optimizer.tensor("\(dataset.name).exp_avg_sq")
            guard first.count == adapter.parameterCount, second.count == adapter.parameterCount else {
                throw TrainingError.checkpoint(
                    path: optimizerPath,
                    detail: "moments of '\(dataset.name)' hold \(first.count) and \(second.count) values, the adapter \(adapter.parameterCount)")
            }
            adapters.append(adapter)
            moments.append(AdamWState(firstMoment: first.storage, secondMoment: second.storage))
        }
        return (adapters, moments)
    }
}
