// Random adapters on disk for the serving benchmarks: the engine takes adapters as PEFT folders,
// so a benchmark writes them (AdapterWriter) and registers their paths. A set is identified by
// (model shapes, kind, rank, targets, seed); adapter i of a set is the same whatever the pool
// size, so a larger pool reuses the folders of a smaller one.

import FloraAdapters
import FloraTensor
import Foundation

public final class AdapterStore {
    /// Where the sets live.
    public let directory: String
    /// Whether `directory` is removed by `removeAll()` (a temporary store) or kept (a cache).
    public let isTemporary: Bool
    public let seed: UInt64

    /// A store in `directory` that is kept between runs, or, when nil, a temporary one.
    public init(directory: String?, seed: UInt64 = 0) throws {
        if let directory {
            self.directory = directory
            isTemporary = false
        } else {
            self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("flora-bench-\(UUID().uuidString)").path
            isTemporary = true
        }
        self.seed = seed
        do {
            try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        } catch {
            throw BenchError.runFailed("cannot create the adapter folder \(self.directory): \(error.localizedDescription)")
        }
    }

    /// The folder of one set.
    public func setDirectory(kind: AdapterKind, rank: Int, targets: [TargetModule], shapes: AdapterTargetShapes) -> String {
        let targetNames = targets.map(\.rawValue).joined(separator: "+")
        let effectiveRank = kind == .ia3 || kind == .road ? 1 : rank
        let name = "\(kind.rawValue)-r\(effectiveRank)-\(targetNames)-L\(shapes.layers)-\(fingerprint(shapes))-s\(seed)"
        return (directory as NSString).appendingPathComponent(name)
    }

    /// Paths of adapters `0 ..< count` of a set, writing those that are missing. A folder is
    /// written under a temporary name and renamed when complete, so an interrupted run leaves
    /// no half-written adapter behind to be reused.
    public func adapters(
        kind: AdapterKind, rank: Int, targets: [TargetModule], shapes: AdapterTargetShapes, count: Int,
        baseWeights: (any AdapterBaseWeights)? = nil, progress: (Int) -> Void = { _ in }
    ) throws -> [String] {
        let set = setDirectory(kind: kind, rank: rank, targets: targets, shapes: shapes)
        let files = FileManager.default
        try? files.createDirectory(atPath: set, withIntermediateDirectories: true)
        return try (0..<count).map { i in
            let path = (set as NSString).appendingPathComponent("\(i)")
            if !files.fileExists(atPath: (path as NSString).appendingPathComponent("adapter_model.safetensors")) {
                let partial = path + ".partial"
                try? files.removeItem(atPath: partial)
                try? files.removeItem(atPath: path)
                let weights = try AdapterWeights.initialized(
                    name: "\(kind.rawValue)-r\(rank)-\(i)", kind: kind, rank: kind == .ia3 || kind == .road ? 1 : rank, targets: targets,
                    shapes: shapes, seed: adapterSeed(kind: kind, rank: rank, index: i), random: true, baseWeights: baseWeights)
                try AdapterWriter.write(weights, to: partial)
                do {
                    try files.moveItem(atPath: partial, toPath: path)
                } catch {
                    throw BenchError.runFailed("cannot move the adapter \(partial) to \(path): \(error.localizedDescription)")
                }
            }
            progress(i + 1)
            return path
        }
    }

    /// Removes one set's folder (temporary stores only: a cache is kept).
    public func removeSet(kind: AdapterKind, rank: Int, targets: [TargetModule], shapes: AdapterTargetShapes) {
        guard isTemporary else { return }
        try? FileManager.default.removeItem(atPath: setDirectory(kind: kind, rank: rank, targets: targets, shapes: shapes))
    }

    /// Removes the whole store if it is temporary.
    public func removeAll() {
        guard isTemporary else { return }
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func adapterSeed(kind: AdapterKind, rank: Int, index: Int) -> UInt64 {
        SeededGenerator.seed(FNV1a.hash("\(kind.rawValue)/\(rank)/\(index)"), stream: seed)
    }

    /// A short, process-independent digest of the model's module shapes.
    private func fingerprint(_ shapes: AdapterTargetShapes) -> String {
        String(FNV1a.hash(shapes.description) & 0xFFFF_FFFF, radix: 16)
    }
}
