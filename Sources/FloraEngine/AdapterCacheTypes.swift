// The values the adapter cache exchanges with its loader and with the engine.

/// What the loader is asked to load: the adapter `name` from the PEFT folder `path`, for the
/// adapter-bank slot `slot`, which the cache has reserved for it (nobody uses that slot until
/// the load ends).
public struct AdapterLoadRequest: Sendable, Equatable {
    public var name: String
    public var path: String
    public var slot: Int
    public init(name: String, path: String, slot: Int) {
        self.name = name
        self.path = path
        self.slot = slot
    }
}

/// What a load gives back: whatever the engine needs to use the adapter (its weights, or a
/// token saying they are in the bank already), and the bytes it occupies while resident.
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

/// The answer to "can a request use this adapter now?".
public enum AdapterAcquisition<Handle: Sendable>: Sendable {
    case ready(slot: Int, handle: Handle)
    /// A load is queued or running; ask again later.
    case pending
    case failed(String)
}

/// What changed in the resident set, for the engine to mirror in the adapter bank (in order).
public enum AdapterCacheEvent<Handle: Sendable>: Sendable {
    /// `name` is usable at `slot` from now on.
    case resident(name: String, slot: Int, handle: Handle)
    /// `name` left `slot`; no running sequence uses it.
    case evicted(name: String, slot: Int)
    case failed(name: String, message: String)
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
