// The adapter cache's policy with fake loads. The cache is bookkeeping only: it hands out the
// loads to run, the test plays the engine core (runs them, in any order, and reports each
// result), and a recording slot store plays the adapter bank.

import FloraEngine
import Testing

struct FakeLoadError: Error, CustomStringConvertible {
    let name: String
    var description: String { "no adapter_model.safetensors in the folder of \(name)" }
}

/// The adapter bank's stand-in: what each slot holds, checked on every install and removal.
final class RecordingSlots: AdapterSlotStore {
    private(set) var slots: [Int: String] = [:]
    private(set) var problems: [String] = []
    func install(_ handle: String, name: String, at slot: Int) throws {
        if let held = slots[slot] { problems.append("install \(name) into slot \(slot), which holds \(held)") }
        slots[slot] = handle
    }
    func remove(slot: Int) {
        if slots[slot] == nil { problems.append("remove from empty slot \(slot)") }
        slots[slot] = nil
    }
}

typealias StringCache = AdapterCache<RecordingSlots>

extension StringCache {
    convenience init(maxResidentCount: Int, maxResidentBytes: Int = .max) throws {
        try self.init(maxResidentCount: maxResidentCount, maxResidentBytes: maxResidentBytes, store: RecordingSlots())
    }

    func register(name: String, path: String) throws {
        try register(AdapterRegistration(name: name, path: path))
    }
}

/// Runs loads the way the engine core does, with a fake reader: sizes by name, some failing.
struct FakeLoader {
    var bytes: [String: Int] = [:]
    var failing: Set<String> = []

    func result(_ request: AdapterLoadRequest) -> Result<LoadedAdapter<String>, any Error> {
        if failing.contains(request.name) { return .failure(FakeLoadError(name: request.name)) }
        return .success(LoadedAdapter(handle: "\(request.name) from \(request.path)", byteCount: bytes[request.name] ?? 100))
    }

    /// Starts a round and finishes every load it hands out (and the ones their freed slots let start).
    func runRound(_ cache: StringCache) {
        finish(cache.startQueuedLoads(), cache)
    }

    func finish(_ requests: [AdapterLoadRequest], _ cache: StringCache) {
        var pending = requests
        while !pending.isEmpty {
            for request in pending { cache.finishLoad(request, result: result(request)) }
            pending = cache.takeQueuedLoads()
        }
    }
}

extension AdapterReadiness {
    var isReady: Bool { self == .ready }
    var isPending: Bool { self == .pending }
}

@Suite struct AdapterCacheTests {
    let loader = FakeLoader()

    /// Acquires `name` and runs its load; true when it ends resident.
    func load(_ cache: StringCache, _ name: String, with loader: FakeLoader = FakeLoader()) -> Bool {
        _ = cache.acquire(name)
        loader.runRound(cache)
        return cache.acquire(name).isReady
    }

    @Test func thousandsRegisteredFewResidentLeastRecentlyUsedEvicted() throws {
        let cache = try StringCache(maxResidentCount: 8)
        for i in 0..<2000 { try cache.register(name: "adapter-\(i)", path: "/adapters/\(i)") }
        #expect(cache.registeredCount == 2000)
        #expect(cache.path(of: "adapter-1234") == "/adapters/1234")
        for i in 0..<8 { #expect(load(cache, "adapter-\(i)")) }
        #expect(cache.residentCount == 8)
        let freed = try #require(cache.slot(of: "adapter-1"))

        _ = cache.acquire("adapter-0")   // now the most recently used: adapter-1 is the oldest
        #expect(load(cache, "adapter-8"))
        #expect(cache.state(of: "adapter-1") == .registered)
        #expect(cache.state(of: "adapter-0") != .registered)
        #expect(cache.slot(of: "adapter-8") == freed)
        #expect(cache.store.slots[freed] == "adapter-8 from /adapters/8")

        for i in 9..<30 {
            #expect(load(cache, "adapter-\(i)"))
            #expect(cache.residentCount <= 8)
        }
        #expect(Set(cache.residentNames) == Set((22..<30).map { "adapter-\($0)" }))
        #expect(Set(cache.residentNames.compactMap { cache.slot(of: $0) }) == Set(0..<8))
        // The bank holds exactly the resident adapters, each in its slot.
        for name in cache.residentNames {
            #expect(cache.store.slots[cache.slot(of: name)!]?.hasPrefix(name + " ") == true)
        }
        #expect(cache.store.slots.count == 8)
        #expect(cache.store.problems == [])
    }

    @Test func aPinnedAdapterIsNeverEvicted() throws {
        let cache = try StringCache(maxResidentCount: 2)
        for name in ["a", "b", "c"] { try cache.register(name: name, path: "/\(name)") }
        #expect(load(cache, "a"))
        #expect(load(cache, "b"))
        cache.pin("a")
        cache.pin("b")
        #expect(cache.acquire("c").isPending)
        loader.runRound(cache)
        #expect(cache.state(of: "c") == .loading)           // queued: no slot can be freed
        #expect(cache.state(of: "a") == .resident(slot: 0))
        #expect(cache.state(of: "b") == .resident(slot: 1))

        cache.unpin("b")
        loader.runRound(cache)
        #expect(cache.state(of: "b") == .registered)
        #expect(cache.state(of: "c") == .resident(slot: 1))
        #expect(cache.state(of: "a") == .resident(slot: 0))
        #expect(throws: AdapterCacheError.adapterInUse(name: "a", runningSequences: 1)) { try cache.unregister(name: "a") }
        #expect(cache.store.problems == [])
    }

    @Test func loadsThatFinishOutOfOrderEachLandInTheirOwnSlot() throws {
        let cache = try StringCache(maxResidentCount: 4)
        let names = ["w", "x", "y", "z"]
        for name in names { try cache.register(name: name, path: "/\(name)") }
        for name in names { #expect(cache.acquire(name).isPending) }
        let requests = cache.startQueuedLoads()
        #expect(requests.map(\.name) == names)
        #expect(cache.loadsInFlight == 4)
        for request in requests.reversed() {
            cache.finishLoad(request, result: loader.result(request))
            #expect(cache.state(of: request.name) == .resident(slot: request.slot))
        }
        #expect(cache.loadsInFlight == 0)
        for request in requests { #expect(cache.store.slots[request.slot] == "\(request.name) from /\(request.name)") }
        #expect(cache.store.problems == [])
    }

    @Test func aFailingLoadFailsOnlyItsAdapter() throws {
        let cache = try StringCache(maxResidentCount: 4)
        let loader = FakeLoader(failing: ["bad"])
        try cache.register(name: "good", path: "/good")
        try cache.register(name: "bad", path: "/bad")
        #expect(cache.acquire("bad").isPending)
        #expect(cache.acquire("good").isPending)
        loader.runRound(cache)
        #expect(cache.acquire("good").isReady)
        guard case .failed(let message) = cache.acquire("bad") else {
            Issue.record("the bad adapter is \(String(describing: cache.state(of: "bad")))")
            return
        }
        #expect(message.contains("'bad'") && message.contains("/bad") && message.contains("safetensors"))
        #expect(cache.residentCount == 1)
        // Registering it again clears the failure.
        try cache.register(name: "bad", path: "/bad-fixed")
        #expect(cache.state(of: "bad") == .registered)
    }

    @Test func theByteLimitHolds() throws {
        let sizes = ["a": 400, "b": 400, "c": 400, "huge": 2000]
        let loader = FakeLoader(bytes: sizes)
        let cache = try StringCache(maxResidentCount: 8, maxResidentBytes: 1000)
        for name in sizes.keys { try cache.register(name: name, path: "/\(name)") }
        #expect(load(cache, "a", with: loader))
        #expect(load(cache, "b", with: loader))
        #expect(cache.residentBytes == 800)
        #expect(load(cache, "c", with: loader))                     // evicts a, the least recently used
        #expect(cache.residentBytes == 800)
        #expect(cache.state(of: "a") == .registered)
        #expect(!load(cache, "huge", with: loader))
        guard case .failed(let message)? = cache.state(of: "huge") else {
            Issue.record("huge is \(String(describing: cache.state(of: "huge")))")
            return
        }
        #expect(message.contains("2000") && message.contains("1000"))

        // With b and c pinned, a waits loaded (still "loading") until bytes are freed.
        cache.pin("b")
        cache.pin("c")
        #expect(!load(cache, "a", with: loader))
        #expect(cache.state(of: "a") == .loading)
        #expect(cache.residentBytes == 800)
        cache.unpin("c")
        #expect(cache.acquire("a").isReady)
        #expect(cache.state(of: "c") == .registered)
        #expect(cache.residentBytes == 800)
        #expect(cache.store.problems == [])
    }

    @Test func aJustLoadedAdapterWaitsOneRoundBeforeItCanBeEvicted() throws {
        let cache = try StringCache(maxResidentCount: 1)
        try cache.register(name: "x", path: "/x")
        try cache.register(name: "y", path: "/y")
        #expect(cache.acquire("x").isPending)
        #expect(cache.acquire("y").isPending)
        loader.runRound(cache)
        // x's load ended and y's could start at once, but not by evicting x unseen.
        #expect(cache.state(of: "y") == .loading)
        #expect(cache.acquire("x").isReady)
        cache.pin("x")                                       // its request is admitted
        loader.runRound(cache)
        #expect(cache.state(of: "x") == .resident(slot: 0))
        cache.unpin("x")
        loader.runRound(cache)                               // the next round may evict it
        #expect(cache.state(of: "y") == .resident(slot: 0))
        #expect(cache.state(of: "x") == .registered)
    }

    @Test func aLoadOfAReplacedFolderIsDropped() throws {
        let cache = try StringCache(maxResidentCount: 1)
        try cache.register(name: "x", path: "/old")
        _ = cache.acquire("x")
        let old = cache.startQueuedLoads()                  // handed out, not finished yet
        try cache.register(name: "x", path: "/new")
        loader.finish([], cache)
        for request in old { cache.finishLoad(request, result: loader.result(request)) }
        #expect(cache.state(of: "x") == .registered)
        #expect(load(cache, "x"))                            // the one slot came back
        #expect(cache.store.slots[0] == "x from /new")
    }

    @Test func unknownAdaptersAndBadLimitsAreRefused() throws {
        #expect(throws: AdapterCacheError.self) { try StringCache(maxResidentCount: 0) }
        #expect(throws: AdapterCacheError.self) { try StringCache(maxResidentCount: 1, maxResidentBytes: 0) }
        let cache = try StringCache(maxResidentCount: 1)
        #expect(throws: AdapterCacheError.unknownAdapter("nope")) { try cache.unregister(name: "nope") }
        guard case .failed(let message) = cache.acquire("nope") else {
            Issue.record("an unknown adapter was not refused")
            return
        }
        #expect(message.contains("nope"))
    }
}
