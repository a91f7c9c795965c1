// The adapter cache (vLLM's LoRA manager, with S-LoRA's "many registered, few resident"): the
// one registry of adapters the engine knows. Each name maps to its folder and what registering
// read of it (config and safetensors header: kind, rank, modules), and to where its weights are:
// nowhere, queued, loading, loaded and waiting for bytes, or resident in a slot of the adapter
// bank. The resident set is bounded by count (the bank's slots) and by bytes; adapters that no
// running sequence pins are evicted least recently used first when room is needed.
//
// The cache is bookkeeping only, like the scheduler: it never reads a file and never starts a
// thread. `startQueuedLoads()` hands back the loads to run; the engine core runs them off its
// thread and reports each result with `finishLoad`, in any order. Whatever becomes resident or
// is evicted is written into the slot store (the adapter bank) in the same call, so the
// registry and the bank cannot disagree.

/// Where resident adapters live: slots the cache hands out. The engine's `AdapterBank` is one;
/// tests use a recorder.
public protocol AdapterSlotStore<Handle>: AnyObject {
    associatedtype Handle: Sendable
    /// `slot` is empty and reserved for `name`; a throw fails that adapter only.
    func install(_ handle: Handle, name: String, at slot: Int) throws
    func remove(slot: Int)
}

public final class AdapterCache<Store: AdapterSlotStore>: AdapterGate {
    public typealias Handle = Store.Handle

    /// Adapter-bank slots: resident adapters plus those loading, at most.
    public let maxResidentCount: Int
    public let maxResidentBytes: Int
    public private(set) var residentBytes = 0
    public let store: Store

    private enum Phase {
        case registered
        case queued
        case loading(slot: Int)
        /// Loaded, waiting for pinned adapters to free bytes.
        case parked(slot: Int, handle: Handle, bytes: Int)
        case resident(slot: Int, bytes: Int)
        case failed(String)
    }

    private struct Entry {
        var registration: AdapterRegistration
        var phase: Phase = .registered
        var pins = 0
        var lastUse: UInt64 = 0
        /// The round in which it became resident: not evictable during that round.
        var residentRound: UInt64 = 0
        /// Changes when the name is registered again, so that a load of the old folder is dropped.
        var generation: UInt64
    }

    private var entries: [String: Entry] = [:]
    private var residents: Set<String> = []
    private var queue: [String] = []     // waiting for a slot, first come first served
    private var parked: [String] = []    // loaded, waiting for bytes
    private var freeSlots: [Int]
    private var clock: UInt64 = 0
    /// Counts `startQueuedLoads` calls (one per engine step). An adapter that becomes resident
    /// is not evicted before the next round, so the scheduler gets one `schedule()` to admit
    /// (and pin) the requests that waited for it; otherwise, with few slots, the next queued
    /// load could evict it as soon as it arrived, again and again.
    private var round: UInt64 = 0
    private var nextGeneration: UInt64 = 0
    private var loading = 0

    public init(maxResidentCount: Int, maxResidentBytes: Int = .max, store: Store) throws(AdapterCacheError) {
        guard maxResidentCount >= 1 else {
            throw .invalidConfiguration("the adapter cache needs at least 1 resident slot, got \(maxResidentCount)")
        }
        guard maxResidentBytes >= 1 else {
            throw .invalidConfiguration("the adapter cache needs a byte limit ≥ 1, got \(maxResidentBytes)")
        }
        self.maxResidentCount = maxResidentCount
        self.maxResidentBytes = maxResidentBytes
        self.store = store
        freeSlots = (0..<maxResidentCount).reversed()   // slot 0 is handed out first
    }

    // MARK: Registry

    /// Adds `registration.name`, or points it at a new folder (this also clears a failure): a
    /// resident old version is evicted, a load of the old folder is ignored when it ends.
    /// Refused while running sequences use it. The engine then drops the name's prefix-cache
    /// blocks: they were computed with the old weights.
    public func register(_ registration: AdapterRegistration) throws(AdapterCacheError) {
        let name = registration.name
        if let old = entries[name] {
            guard old.pins == 0 else { throw .adapterInUse(name: name, runningSequences: old.pins) }
            drop(name)
        }
        nextGeneration += 1
        entries[name] = Entry(registration: registration, generation: nextGeneration)
    }

    /// Forgets `name`; refused while running sequences use it.
    public func unregister(name: String) throws(AdapterCacheError) {
        guard let entry = entries[name] else { throw .unknownAdapter(name) }
        guard entry.pins == 0 else { throw .adapterInUse(name: name, runningSequences: entry.pins) }
        drop(name)
        entries[name] = nil
    }

    public var registeredCount: Int { entries.count }
    public var registeredNames: [String] { entries.keys.sorted() }
    public var registrations: [AdapterRegistration] { entries.values.map(\.registration).sorted { $0.name < $1.name } }
    public var residentCount: Int { residents.count }
    /// Resident adapters by slot.
    public var residentNames: [String] { residents.sorted { (slot(of: $0) ?? 0) < (slot(of: $1) ?? 0) } }
    public func registration(of name: String) -> AdapterRegistration? { entries[name]?.registration }
    public func path(of name: String) -> String? { entries[name]?.registration.path }
    public func pinCount(of name: String) -> Int { entries[name]?.pins ?? 0 }
    /// Pins held by running sequences over all adapters: 0 whenever nothing runs.
    public var totalPins: Int { entries.values.reduce(0) { $0 + $1.pins } }
    /// Loads handed out by `startQueuedLoads` and not finished yet.
    public var loadsInFlight: Int { loading }

    public func slot(of name: String) -> Int? {
        if case .resident(let slot, _) = entries[name]?.phase { return slot }
        return nil
    }

    public func state(of name: String) -> AdapterState? {
        guard let entry = entries[name] else { return nil }
        switch entry.phase {
        case .registered: return .registered
        case .queued, .loading, .parked: return .loading
        case .resident(let slot, _): return .resident(slot: slot)
        case .failed(let message): return .failed(message)
        }
    }

    // MARK: Use

    /// Whether a request may use `name` now. A registered adapter that is not resident is
    /// queued for loading (`startQueuedLoads` hands it out); a resident one becomes the most
    /// recently used.
    public func acquire(_ name: String) -> AdapterReadiness {
        guard var entry = entries[name] else { return .failed("no adapter named '\(name)' is registered") }
        switch entry.phase {
        case .resident:
            touch(&entry)
            entries[name] = entry
            return .ready
        case .queued, .loading, .parked:
            return .pending
        case .failed(let message):
            return .failed(message)
        case .registered:
            entry.phase = .queued
            entries[name] = entry
            queue.append(name)
            return .pending
        }
    }

    public func readiness(ofAdapter name: String) -> AdapterReadiness { acquire(name) }

    /// A running sequence holds `name`: it is not evicted until every pin is released.
    public func pin(_ name: String) {
        entries[name]?.pins += 1
    }

    public func unpin(_ name: String) {
        guard var entry = entries[name], entry.pins > 0 else { return }
        entry.pins -= 1
        if entry.pins == 0 { touch(&entry) }
        entries[name] = entry
        if entry.pins == 0 { settleParked() }
    }

    // MARK: Loading

    /// Starts a new round: makes parked adapters resident if bytes allow, then hands out the
    /// queued loads a slot can be found for (evicting least recently used unpinned adapters
    /// that became resident before this round); the rest stay queued. The caller runs each load
    /// and reports it with `finishLoad`. Call it once per step, after `schedule()`.
    public func startQueuedLoads() -> [AdapterLoadRequest] {
        round += 1
        settleParked()
        return takeQueuedLoads()
    }

    /// Queued loads that a free slot can take now, without starting a new round (after a load
    /// ended and gave its slot back).
    public func takeQueuedLoads() -> [AdapterLoadRequest] {
        var started: [AdapterLoadRequest] = []
        while let name = queue.first {
            guard let slot = takeSlot() else { break }
            queue.removeFirst()
            guard var entry = entries[name], case .queued = entry.phase else {
                freeSlots.append(slot)
                continue
            }
            entry.phase = .loading(slot: slot)
            entries[name] = entry
            loading += 1
            started.append(AdapterLoadRequest(registration: entry.registration, slot: slot, generation: entry.generation))
        }
        return started
    }

    /// Takes the result of a load handed out by `startQueuedLoads`. A load of a folder that was
    /// registered again or forgotten meanwhile is dropped and its slot freed.
    public func finishLoad(_ request: AdapterLoadRequest, result: Result<LoadedAdapter<Handle>, any Error>) {
        loading -= 1
        let name = request.registration.name
        guard var entry = entries[name], entry.generation == request.generation,
              case .loading(let slot) = entry.phase, slot == request.slot
        else {
            freeSlots.append(request.slot)
            return
        }
        let message: String
        switch result {
        case .success(let loaded) where loaded.byteCount >= 0 && loaded.byteCount <= maxResidentBytes:
            entry.phase = .parked(slot: slot, handle: loaded.handle, bytes: loaded.byteCount)
            entries[name] = entry
            parked.append(name)
            settleParked()
            return
        case .success(let loaded):
            message = "adapter '\(name)' at \(request.registration.path) needs \(loaded.byteCount) bytes; the adapter cache holds at most \(maxResidentBytes)"
        case .failure(let error):
            message = "adapter '\(name)' at \(request.registration.path) failed to load: \(error)"
        }
        fail(name, entry: &entry, slot: slot, message: message)
    }

    private func fail(_ name: String, entry: inout Entry, slot: Int, message: String) {
        entry.phase = .failed(message)
        entries[name] = entry
        freeSlots.append(slot)
    }

    // MARK: Room

    /// Makes parked adapters resident, oldest first, evicting unpinned ones for their bytes
    /// (only when that makes enough room, so nothing is evicted in vain).
    private func settleParked() {
        while let name = parked.first {
            guard var entry = entries[name], case .parked(let slot, let handle, let bytes) = entry.phase else {
                parked.removeFirst()
                continue
            }
            let evictableBytes = residents.reduce(0) { sum, resident in
                guard let other = entries[resident], other.pins == 0, other.residentRound != round,
                      case .resident(_, let held) = other.phase else { return sum }
                return sum + held
            }
            guard residentBytes - evictableBytes + bytes <= maxResidentBytes else { return }
            while residentBytes + bytes > maxResidentBytes, let victim = leastRecentlyUsedUnpinned() { evict(victim) }
            parked.removeFirst()
            do {
                try store.install(handle, name: name, at: slot)
            } catch {
                fail(name, entry: &entry, slot: slot, message: "adapter '\(name)' could not be installed: \(error)")
                continue
            }
            entry.phase = .resident(slot: slot, bytes: bytes)
            entry.residentRound = round
            touch(&entry)
            entries[name] = entry
            residents.insert(name)
            residentBytes += bytes
        }
    }

    private func takeSlot() -> Int? {
        if let slot = freeSlots.popLast() { return slot }
        guard let victim = leastRecentlyUsedUnpinned() else { return nil }
        evict(victim)
        return freeSlots.popLast()
    }

    /// Among adapters that no running sequence pins and that did not arrive this round.
    /// O(resident adapters): the resident set is small (the bank's slots).
    private func leastRecentlyUsedUnpinned() -> String? {
        var best: (name: String, lastUse: UInt64)?
        for name in residents {
            guard let entry = entries[name], entry.pins == 0, entry.residentRound != round else { continue }
            if let current = best, current.lastUse <= entry.lastUse { continue }
            best = (name, entry.lastUse)
        }
        return best?.name
    }

    private func evict(_ name: String) {
        guard var entry = entries[name], case .resident(let slot, let bytes) = entry.phase else { return }
        store.remove(slot: slot)
        entry.phase = .registered
        entries[name] = entry
        residents.remove(name)
        residentBytes -= bytes
        freeSlots.append(slot)
    }

    /// Undoes whatever `name` holds, before it is registered again or forgotten.
    private func drop(_ name: String) {
        guard let entry = entries[name] else { return }
        switch entry.phase {
        case .resident: evict(name)
        case .queued: queue.removeAll { $0 == name }
        case .parked(let slot, _, _):
            parked.removeAll { $0 == name }
            freeSlots.append(slot)
        case .loading:
            break   // its slot comes back when the load ends (the loader may still be reading)
        case .registered, .failed:
            break
        }
        entries[name]?.phase = .registered
    }

    private func touch(_ entry: inout Entry) {
        clock += 1
        entry.lastUse = clock
    }
}
