// The values the adapter cache exchanges with the engine core: what registering an adapter
// read, the loads it hands out and their results, and its errors.

import FloraAdapters

/// A known adapter: its name, its PEFT folder, and what registering read of it (config and
/// safetensors header, already checked against the model; nil where the caller checked nothing,
/// as in model-free tests).
public struct AdapterRegistration: Sendable, Equatable {
    public var name: String
    public var path: String
    public var manifest: AdapterManifest?
    /// A mixture's parts (`AdapterMixture`), as registered when the mixture was first asked
    /// for; empty for a folder.
    public var parts: [WeightedRegistration]

    public init(name: String, path: String, manifest: AdapterManifest? = nil, parts: [WeightedRegistration] = []) {
        self.name = name
        self.path = path
        self.manifest = manifest
        self.parts = parts
    }
}

/// One part of a mixture: a registered adapter and its weight.
public struct WeightedRegistration: Sendable, Equatable {
    public var registration: AdapterRegistration
    public var weight: Float
    public init(registration: AdapterRegistration, weight: Float) {
        self.registration = registration
        self.weight = weight
    }
}

/// A load the cache hands out: read `registration`'s folder for the adapter-bank slot `slot`,
/// which the cache has reserved for it. `generation` tells a load of a folder registered again
/// meanwhile from a current one.
public struct AdapterLoadRequest: Sendable, Equatable {
    public var registration: AdapterRegistration
    public var slot: Int
    public var generation: UInt64
    public var name: String { registration.name }
    public var path: String { registration.path }
}

/// What a load gives back: the adapter's weights (or whatever the slot store takes) and the
/// bytes they occupy while resident.
public struct LoadedAdapter<Handle: Sendable>: Sendable {
    public var handle: Handle
    public var byteCount: Int
    public init(handle: Handle, byteCount: Int) {
        self.handle = handle
        self.byteCount = byteCount
    }
}

public enum AdapterState: Sendable, Equatable {
    /// Known by name and folder; not in memory.
    case registered
    /// Queued for a slot, being read, or read and waiting for bytes to be freed.
    case loading
    /// In memory, at this adapter-bank slot.
    case resident(slot: Int)
    /// Its load failed; it stays failed until it is registered again.
    case failed(String)
}

public enum AdapterCacheError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidConfiguration(String)
    case unknownAdapter(String)
    case adapterInUse(name: String, runningSequences: Int)

    public var description: String {
        switch self {
        case .invalidConfiguration(let detail): detail
        case .unknownAdapter(let name): "no adapter named '\(name)' is registered"
        case .adapterInUse(let name, let count):
            "adapter '\(name)' is used by \(count) running sequence\(count == 1 ? "" : "s"); finish or abort them first"
        }
    }
}
