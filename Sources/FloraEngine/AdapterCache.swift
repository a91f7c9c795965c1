// The adapter cache's policy (vLLM's LoRA manager, with S-LoRA's "many registered, few
// resident"): a registry of every known adapter (name → PEFT folder), and a bounded resident
// set, limited both by count (the adapter bank's slots) and by bytes. Adapters that no running
// sequence pins are evicted least recently used first when room is needed. A cold adapter
// loads through an injected async loader, off the step loop, while other requests run; a
// failed load fails that adapter only.
//
// Why a class owned by the engine's actor rather than an actor of its own: the scheduler asks
// it, synchronously inside `schedule()`, whether a waiting sequence's adapter is resident, and
// pins it in the same breath as it admits the sequence. As a separate actor every question
// would be a suspension point between which the answer could change (an adapter evicted
// between "ready" and "pin"). So the cache lives in the engine actor's isolation region and is
// only touched from there; `startQueuedLoads` takes that actor as its `isolated` parameter,
// runs each loader (a nonisolated async closure, so off the actor) and applies the result back
// on the actor.

public final class AdapterCache<Handle: Sendable>: AdapterGate {
    public typealias Loader = @Sendable (AdapterLoadRequest) async throws -> LoadedAdapter<Handle>

    /// Adapter-bank slots: resident adapters plus those loading, at most.
    public let maxResidentCount: Int
    public let maxResidentBytes: Int
    public private(set) var residentBytes = 0
    /// Called on the owner's actor after each load ends (resident, parked or failed), e.g. to
    /// wake an idle step loop.
    public var onLoadFinished: ((String) -> Void)?

    private enum Phase {
        case registered
        case queued
        case loading(slot: Int)
        /// Loaded, waiting for pinned adapters to free bytes.
        case parked(slot: Int, LoadedAdapter<Handle>)
        case resident(slot: Int, LoadedAdapter<Handle>)
        case failed(String)
    }

    private struct Entry {
        var path: String
        var phase: Phase = .registered
        var pins = 0
        var lastUse: UInt64 = 0
        /// The round in which it became resident: not evictable during that round.
        var residentRound: UInt64 = 0
        /// Changes when the name is registered again, so that a load of the old folder is dropped.
        var generation: UInt64
    }

    private let loader: Loader
    private var entries: [String: Entry] = [:]
    private var residents: Set<String> = []
    private var queue: [String] = []     // waiting for a slot, first come first served
    private var parked: [String] = []    // loaded, waiting for bytes
    private var freeSlots: [Int]
    private var clock: UInt64 = 0
    /// Counts the engine's `startQueuedLoads` calls (one per step). An adapter that becomes
    /// resident is not evicted before the next round, so the scheduler gets one `schedule()` to
    /// admit (and pin) the requests that waited for it; otherwise, with few slots, the next
    /// queued load could evict it as soon as it arrived, again and again.
    private var round: UInt64 = 0
    private var nextGeneration: UInt64 = 0
    private var events: [AdapterCacheEvent<Handle>] = []
    private var inFlight: [UInt64: Task<Void, Never>] = [:]
    private var nextTicket: UInt64 = 0

    public init(maxResidentCount: Int, maxResidentBytes: Int = .max, loader: @escaping Loader) throws(AdapterCacheError) {
        guard maxResidentCount >= 1 else {
            throw .invalidConfiguration("the adapter cache needs at least 1 resident slot, got \(maxResidentCount)")
        }
        guard maxResidentBytes >= 1 else {
            throw .invalidConfiguration("the adapter cache needs a byte limit ≥ 1, got \(maxResidentBytes)")
        }
        self.maxResidentCount = maxResidentCount
        self.maxResidentBytes = maxResidentBytes
        self.loader = loader
        freeSlots = (0..<maxResidentCount).reversed()   // slot 0 is handed out first
    }

    // MARK: Registry

    /// Adds `name`, or points it at a new folder (this also clears a failure): a resident old
    /// version is evicted, a load of the old folder is ignored when it ends. Refused while
    /// running sequences use it. The engine then drops the name's prefix-cache blocks
    /// (`KVBlockManager.removeCachedBlocks(adapterName:)`): they were computed with the old weights.
    public func register(name: String, path: String) throws(AdapterCacheError) {
        if let old = entries[name] {
            guard old.pins == 0 else { throw .adapterInUse(name: name, runningSequences: old.pins) }
            drop(name)
        }
        nextGeneration += 1
        entries[name] = Entry(path: path, generation: nextGeneration)
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
    public var residentCount: Int { residents.count }
    /// Resident adapters by slot.
    public var residentNames: [String] { residents.sorted { (slot(of: $0) ?? 0) < (slot(of: $1) ?? 0) } }
    public func path(of name: String) -> String? { entries[name]?.path }
    public func pinCount(of name: String) -> Int { entries[name]?.pins ?? 0 }

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
    /// queued for loading (`startQueuedLoads` starts it); a resident one becomes the most
    /// recently used.
    public func acquire(_ name: String) -> AdapterAcquisition<Handle> {
        guard var entry = entries[name] else { return .failed("no adapter named '\(name)' is registered") }
        switch entry.phase {
        case .resident(let slot, let loaded):
            touch(&entry)
            entries[name] = entry
            return .ready(slot: slot, handle: loaded.handle)
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

    public func readiness(ofAdapter name: String) -> AdapterReadiness {
        switch acquire(name) {
        case .ready: .ready
        case .pending: .pending
        case .failed(let message): .failed(message)
        }
    }

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

    /// Changes to the resident set since the last call, oldest first.
    public func takeEvents() -> [AdapterCacheEvent<Handle>] {
        defer { events.removeAll() }
        return events
    }

    // MARK: Loading

    /// Starts a new round: makes parked adapters resident if bytes allow, then starts the
    /// queued loads that a slot can be found for (evicting least recently used unpinned
    /// adapters that became resident before this round); the rest stay queued. Call it on the
    /// engine's actor once per step, after `schedule()`. Loads that end start queued ones too.
    public func startQueuedLoads(isolation: isolated any Actor = #isolation) {
        round += 1
        settleParked()
        startLoads(isolation: isolation)
    }

    private func startLoads(isolation: isolated any Actor) {
        while let name = queue.first {
            guard let slot = takeSlot() else { return }
            queue.removeFirst()
            guard var entry = entries[name], case .queued = entry.phase else {
                freeSlots.append(slot)
                continue
            }
            entry.phase = .loading(slot: slot)
            entries[name] = entry
            spawnLoad(AdapterLoadRequest(name: name, path: entry.path, slot: slot), generation: entry.generation, isolation: isolation)
        }
    }

    /// Waits until no load is running (loads started meanwhile included).
    public func waitForLoads(isolation: isolated any Actor = #isolation) async {
        while let task = inFlight.values.first { await task.value }
    }

    public var loadsInFlight: Int { inFlight.count }

    private func spawnLoad(_ request: AdapterLoadRequest, generation: UInt64, isolation: isolated any Actor) {
        let loader = self.loader
        let ticket = nextTicket
        nextTicket += 1
        inFlight[ticket] = Task {
            _ = isolation   // captured: the task runs on the owner's actor, the loader off it
            let result: Result<LoadedAdapter<Handle>, any Error>
            do { result = .success(try await loader(request)) } catch { result = .failure(error) }
            self.inFlight[ticket] = nil
            self.finishLoad(request, generation: generation, result: result)
            self.startLoads(isolation: isolation)
            self.onLoadFinished?(request.name)
        }
    }

    private func finishLoad(_ request: AdapterLoadRequest, generation: UInt64, result: Result<LoadedAdapter<Handle>, any Error>) {
        guard var entry = entries[request.name], entry.generation == generation,
              case .loading(let slot) = entry.phase, slot == request.slot
        else {
            freeSlots.append(request.slot)   // dropped or registered again while loading
            return
        }
        let message: String
        switch result {
        case .success(let loaded) where loaded.byteCount >= 0 && loaded.byteCount <= maxResidentBytes:
            entry.phase = .parked(slot: slot, loaded)
            entries[request.name] = entry
            parked.append(request.name)
            settleParked()
            return
        case .success(let loaded):
            message = "adapter '\(request.name)' at \(request.path) needs \(loaded.byteCount) bytes; the adapter cache holds at most \(maxResidentBytes)"
        case .failure(let error):
            message = "adapter '\(request.name)' at \(request.path) failed to load: \(error)"
        }
        entry.phase = .failed(message)
        entries[request.name] = entry
        freeSlots.append(slot)
        events.append(.failed(name: request.name, message: message))
    }

    // MARK: Room

    /// Makes parked adapters resident, oldest first, evicting unpinned ones for their bytes
    /// (only when that makes enough room, so nothing is evicted in vain).
    private func settleParked() {
        while let name = parked.first {
            guard var entry = entries[name], case .parked(let slot, let loaded) = entry.phase else {
                parked.removeFirst()
                continue
            }
            let evictableBytes = residents.reduce(0) { sum, resident in
                guard let other = entries[resident], other.pins == 0, other.residentRound != round,
                      case .resident(_, let held) = other.phase else { return sum }
                return sum + held.byteCount
            }
            guard residentBytes - evictableBytes + loaded.byteCount <= maxResidentBytes else { return }
            while residentBytes + loaded.byteCount > maxResidentBytes, let victim = leastRecentlyUsedUnpinned() { evict(victim) }
            parked.removeFirst()
            entry.phase = .resident(slot: slot, loaded)
            entry.residentRound = round
            touch(&entry)
            entries[name] = entry
            residents.insert(name)
            residentBytes += loaded.byteCount
            events.append(.resident(name: name, slot: slot, handle: loaded.handle))
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
        guard var entry = entries[name], case .resident(let slot, let loaded) = entry.phase else { return }
        entry.phase = .registered
        entries[name] = entry
        residents.remove(name)
        residentBytes -= loaded.byteCount
        freeSlots.append(slot)
        events.append(.evicted(name: name, slot: slot))
    }

    /// Undoes whatever `name` holds, before it is registered again or forgotten.
    private func drop(_ name: String) {
        guard let entry = entries[name] else { return }
        switch entry.phase {
        case .resident: evict(name)
        case .queued: queue.removeAll { $0 == name }
        case .parked(let slot, _):
            parked.removeAll { $0 == name }
            freeSlots.append(slot)
        case .loading:
            break   // its slot comes back when the load ends (the loader may be writing into it)
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
