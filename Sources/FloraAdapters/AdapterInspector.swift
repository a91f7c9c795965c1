// Checks adapter folders against one model's shapes, remembering the verdict by the folder's
// fingerprint (config, safetensors header, file size): registering 10,000 adapters of one recipe
// checks one folder and reads two small pieces of each other. Only accepted folders are
// remembered, so a refused one is re-checked and refused with its own reason.

import FloraFormats
import Synchronization

public final class AdapterInspector: Sendable {
    /// Distinct fingerprints remembered (each holds its config and header, ~20 KB for an adapter
    /// on every module of a 30-layer model); a new one then replaces an old one.
    public let capacity: Int
    private let verdicts = Mutex<[PEFTFolderFingerprint: (shapes: AdapterTargetShapes, manifest: AdapterManifest)]>([:])

    public init(capacity: Int = 64) {
        self.capacity = capacity
    }

    /// What `AdapterLoader.inspect` returns for the folder, from memory when a folder with the
    /// same fingerprint was accepted for the same shapes.
    public func inspect(folder: String, shapes: AdapterTargetShapes) throws -> AdapterManifest {
        guard let fingerprint = PEFTFolderFingerprint(folder: folder) else {
            return try AdapterLoader.inspect(folder: folder, shapes: shapes)
        }
        if let known = verdicts.withLock({ $0[fingerprint] }), known.shapes == shapes { return known.manifest }
        let manifest = try AdapterLoader.inspect(folder: folder, shapes: shapes)
        verdicts.withLock { verdicts in
            if verdicts.count >= capacity, let any = verdicts.keys.first { verdicts[any] = nil }
            verdicts[fingerprint] = (shapes, manifest)
        }
        return manifest
    }
}
