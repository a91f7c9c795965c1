// Checkpoints: one PEFT folder per adapter (what `flora serve` and PEFT load), the AdamW moments
// in `optimizer.safetensors`, and `trainer_state.json` (step, options, data positions), which is
// also the manifest: it names every other file with its size and FNV-1a hash and is written last.
// Every file is written durably (DurableFile: temporary file, fsync, rename, fsync of the
// folder), and the manifest of a folder being rewritten is removed first, so a run killed at any
// moment leaves each checkpoint either complete or without a manifest; resuming checks every file
// against the manifest and refuses a damaged checkpoint, naming the file.

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
    /// The checkpoint's other files (paths relative to its folder) with their sizes and hashes;
    /// nil in checkpoints written before Flora kept a manifest.
    public var files: [String: FileRecord]?

    public struct FileRecord: Sendable, Codable, Equatable {
        public var bytes: Int
        /// FNV-1a (64-bit) of the contents, hexadecimal.
        public var fnv1a: String

        init(contents: Data) {
            bytes = contents.count
            var hash = FNV1a()
            contents.withUnsafeBytes { for byte in $0 { hash.mix(byte: byte) } }
            fnv1a = String(hash.value, radix: 16)
        }
    }
}

public enum Checkpoint {
    /// Writes the adapters (PEFT folders named after them), their moments and `state` into
    /// `folder`, the manifest last. On failure (a full disk …) the error says so and a folder this
    /// call created is removed: the checkpoints written before stay the latest complete ones.
    public static func write(to folder: String, adapters: [TrainableAdapter], moments: [AdamWState], state: TrainerState) throws {
        let fm = FileManager.default
        let existed = fm.fileExists(atPath: folder)
        do {
            try writeFiles(to: folder, adapters: adapters, moments: moments, state: state)
        } catch {
            if !existed { try? fm.removeItem(atPath: folder) }
            let reason = (error as? TrainingError)?.description ?? "\(error)"
            throw TrainingError.checkpoint(path: folder, detail: "the checkpoint could not be written, the previous one is kept: \(reason)")
        }
    }

    private static func writeFiles(to folder: String, adapters: [TrainableAdapter], moments: [AdamWState], state: TrainerState) throws {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.checkpoint(path: folder, detail: "cannot create the folder (\((error as NSError).localizedDescription))")
        }
        // Rewriting a folder (the output folder of a resumed run): it stops being a checkpoint
        // before any of its files changes.
        let manifestPath = (folder as NSString).appendingPathComponent(TrainerState.fileName)
        if fm.fileExists(atPath: manifestPath) {
            try fm.removeItem(atPath: manifestPath)
            try DurableFile.syncFolder(folder)
        }
        var tensors: [(name: String, tensor: Tensor)] = []
        var files: [String] = []
        for (adapter, moment) in zip(adapters, moments) {
            try AdapterWriter.write(adapter.weights(), to: (folder as NSString).appendingPathComponent(adapter.name))
            files += [PEFTFolder.configFileName, PEFTFolder.weightsFileName].map { adapter.name + "/" + $0 }
            tensors.append(("\(adapter.name).exp_avg", Tensor(shape: [adapter.parameterCount], storage: moment.firstMoment)))
            tensors.append(("\(adapter.name).exp_avg_sq", Tensor(shape: [adapter.parameterCount], storage: moment.secondMoment)))
        }
        try SafetensorsWriter.write(tensors: tensors, to: (folder as NSString).appendingPathComponent(TrainerState.optimizerFileName))
        files.append(TrainerState.optimizerFileName)
        try DurableFile.syncFolder((folder as NSString).deletingLastPathComponent)

        var manifest = state
        manifest.files = [:]
        for file in files {
            let path = (folder as NSString).appendingPathComponent(file)
            guard let contents = fm.contents(atPath: path) else { throw TrainingError.checkpoint(path: path, detail: "cannot be read back") }
            manifest.files?[file] = TrainerState.FileRecord(contents: contents)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try DurableFile.write(try encoder.encode(manifest), to: manifestPath)
    }

    /// Checks every file the manifest of `folder` names: present, of its size and hash.
    static func verify(_ folder: String, state: TrainerState) throws {
        for (file, record) in (state.files ?? [:]).sorted(by: { $0.key < $1.key }) {
            let path = (folder as NSString).appendingPathComponent(file)
            let damaged = "the checkpoint is damaged (a run killed while writing it, or a copy cut short) and cannot be resumed from; resume from an earlier checkpoint"
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw TrainingError.checkpoint(path: path, detail: "missing, although \(TrainerState.fileName) lists it: \(damaged)")
            }
            let found = TrainerState.FileRecord(contents: contents)
            guard found == record else {
                throw TrainingError.checkpoint(
                    path: path,
                    detail: "\(found.bytes) bytes with FNV-1a \(found.fnv1a), \(TrainerState.fileName) says \(record.bytes) bytes with FNV-1a \(record.fnv1a): \(damaged)")
            }
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

    /// The state of the checkpoint in `folder`, after checking every file its manifest names.
    public static func readState(_ folder: String) throws -> TrainerState {
        let path = (folder as NSString).appendingPathComponent(TrainerState.fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.checkpoint(path: path, detail: "cannot be read")
        }
        do {
            let state = try JSONDecoder().decode(TrainerState.self, from: data)
            guard state.format == 1 else { throw TrainingError.checkpoint(path: path, detail: "format \(state.format), expected 1") }
            try verify(folder, state: state)
            return state
        } catch let error as TrainingError {
            throw error
        } catch {
            throw TrainingError.checkpoint(path: path, detail: "not a trainer state (\(error))")
        }
    }

    /// The adapters and moments of the checkpoint in `folder`, for a model of `shapes` whose
    /// weights are `baseWeights` (required for DoRA adapters, whose norms need them).
    public static func readAdapters(
        _ folder: String, state: TrainerState, shapes: AdapterTargetShapes, baseWeights: (any AdapterBaseWeights)? = nil
    ) throws -> (adapters: [TrainableAdapter], moments: [AdamWState]) {
        let optimizerPath = (folder as NSString).appendingPathComponent(TrainerState.optimizerFileName)
        let optimizer = try SafetensorsFile(path: optimizerPath)
        var adapters: [TrainableAdapter] = []
        var moments: [AdamWState] = []
        for dataset in state.datasets {
            let weights = try AdapterLoader.load(
                folder: (folder as NSString).appendingPathComponent(dataset.name), name: dataset.name, shapes: shapes, baseWeights: baseWeights)
            try weights.refuseVocabularyModules(for: "training")
            let adapter = try TrainableAdapter(weights, baseWeights: baseWeights)
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
