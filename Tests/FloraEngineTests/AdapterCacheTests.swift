// The adapter cache's policy with fake loaders. The tests run on the main actor, which plays
// the engine's actor: loads start there and their results come back there.

import FloraEngine
import Testing

struct FakeLoadError: Error, CustomStringConvertible {
    let name: String
    var description: String { "no adapter_model.safetensors in the folder of \(name)" }
}

typealias StringCache = AdapterCache<String>

func fakeLoader(bytes: [String: Int] = [:], failing: Set<String> = []) -> StringCache.Loader {
    { request in
        if failing.contains(request.name) { throw FakeLoadError(name: request.name) }
        return LoadedAdapter(handle: "\(request.name) from \(request.path)", byteCount: bytes[request.name] ?? 100)
    }
}

extension AdapterAcquisition {
    var isReady: Bool { if case .ready = self { true } else { false } }
    var isPending: Bool { if case .pending = self { true } else { false } }
}

@MainActor
@Suite struct AdapterCacheTests {
    /// Acquires `name` and waits for its load; true when it ends resident.
    func load(_ cache: StringCache, _ name: String) async -> Bool {
        _ = cache.acquire(name)
        cache.startQueuedLoads()
        await cache.waitForLoads()
        return cache.acquire(name).isReady
    }

    @Test func thousandsRegisteredFewResidentLeastRecentlyUsedEvicted() async throws {
        let cache = try StringCache(maxResidentCount: 8, loader: fakeLoader())
        for i in 0..<2000 { try cache.register(name: "adapter-\(i)", path: "/adapters/\(i)") }
        #expect(cache.registeredCount == 2000)
        #expect(cache.path(of: "adapter-1234") == "/adapters/1234")
        for i in 0..<8 { #expect(await load(cache, "adapter-\(i)")) }
        #expect(cache.residentCount == 8)
        _ = cache.takeEvents()

        _ = cache.acquire("adapter-0")   // now the most recently used: adapter-1 is the oldest
        #expect(await load(cache, "adapter-8"))
        #expect(cache.state(of: "adapter-1") == .registered)
        #expect(cache.state(of: "adapter-0") != .registered)
        let events = cache.takeEvents()
        guard events.count == 2, case .evicted("adapter-1", let freed) = events[0],
              case .resident("adapter-8", let slot, let handle) = events[1] else {
            Issue.record("events \(events)")
            return
        }
        #expect(slot == freed)
        #expect(handle == "adapter-8 from /adapters/8")

        for i in 9..<30 {
            #expect(await load(cache, "adapter-\(i)"))
            #expect(cache.residentCount <= 8)
        }
        #expect(Set(cache.residentNames) == Set((22..<30).map { "adapter-\($0)" }))
        #expect(Set(cache.residentNames.compactMap { cache.slot(of: $0) }) == Set(0..<8))
    }

    @Test func aPinnedAdapterIsNeverEvicted() async throws {
        let cache = try StringCache(maxResidentCount: 2, loader: fakeLoader())
        for name in ["a", "b", "c"] { try cache.register(name: name, path: "/\(name)") }
        #expect(await load(cache, "a"))
        #expect(await load(cache, "b"))
        cache.pin("a")
        cache.pin("b")
        #expect(cache.acquire("c").isPending)
        cache.startQueuedLoads()
        await cache.waitForLoads()
        #expect(cache.state(of: "c") == .loading)           // queued: no slot can be freed
        #expect(cache.state(of: "a") == .resident(slot: 0))
        #expect(cache.state(of: "b") == .resident(slot: 1))

        cache.unpin("b")
        cache.startQueuedLoads()
        await cache.waitForLoads()
        #expect(cache.state(of: "b") == .registered)
        #expect(cache.state(of: "c") == .resident(slot: 1))
        #expect(cache.state(of: "a") == .resident(slot: 0))
        #expect(throws: AdapterCacheError.adapterInUse(name: "a", runningSequences: 1)) { try cache.unregister(name: "a") }
    }

    @Test func aFailingLoadFailsOnlyItsAdapter() async throws {
        let cache = try StringCache(maxResidentCount: 4, loader: fakeLoader(failing: ["bad"]))
        try cache.register(name: "good", path: "/good")
        try cache.register(name: "bad", path: "/bad")
        #expect(cache.acquire("bad").isPending)
        #expect(cache.acquire("good").isPending)
        cache.startQueuedLoads()
        await cache.waitForLoads()
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

    @Test func theByteLimitHolds() async throws {
        let sizes = ["a": 400, "b": 400, "c": 400, "huge": 2000]
        let cache = try StringCache(maxResidentCount: 8, maxResidentBytes: 1000, loader: fakeLoader(bytes: sizes))
        for name in sizes.keys { try cache.register(name: name, path: "/\(name)") }
        #expect(await load(cache, "a"))
        #expect(await load(cache, "b"))
        #expect(cache.residentBytes == 800)
        #expect(await load(cache, "c"))                     // evicts a, the least recently used
        #expect(cache.residentBytes == 800)
        #expect(cache.state(of: "a") == .registered)
        #expect(!(await load(cache, "huge")))
        guard case .failed(let message)? = cache.state(of: "huge") else {
            Issue.record("huge is \(String(describing: cache.state(of: "huge")))")
            return
        }
        #expect(message.contains("2000") && message.contains("1000"))

        // With b and c pinned, a waits loaded (still "loading") until bytes are freed.
        cache.pin("b")
        cache.pin("c")
        #expect(!(await load(cache, "a")))
        #expect(cache.state(of: "a") == .loading)
        #expect(cache.residentBytes == 800)
        cache.unpin("c")
        #expect(cache.acquire("a").isReady)
        #expect(cache.state(of: "c") == .registered)
        #expect(cache.residentBytes == 800)
    }

    @Test func aJustLoadedAdapterWaitsOneRoundBeforeItCanBeEvicted() async throws {
        let cache = try StringCache(maxResidentCount: 1, loader: fakeLoader())
        try cache.register(name: "x", path: "/x")
        try cache.register(name: "y", path: "/y")
        #expect(cache.acquire("x").isPending)
        #expect(cache.acquire("y").isPending)
        cache.startQueuedLoads()
        await cache.waitForLoads()
        // x's load ended and y's could start at once, but not by evicting x unseen.
        #expect(cache.state(of: "y") == .loading)
        #expect(cache.acquire("x").isReady)
        cache.pin("x")                                       // its request is admitted
        cache.startQueuedLoads()
        await cache.waitForLoads()
        #expect(cache.state(of: "x") == .resident(slot: 0))
        cache.unpin("x")
        cache.startQueuedLoads()                             // the next round may evict it
        await cache.waitForLoads()
        #expect(cache.state(of: "y") == .resident(slot: 0))
        #expect(cache.state(of: "x") == .registered)
    }

    @Test func aLoadOfAReplacedFolderIsDropped() async throws {
        let cache = try StringCache(maxResidentCount: 1, loader: fakeLoader())
        try cache.register(name: "x", path: "/old")
        _ = cache.acquire("x")
        cache.startQueuedLoads()                            // running, not finished: no suspension yet
        try cache.register(name: "x", path: "/new")
        await cache.waitForLoads()
        #expect(cache.state(of: "x") == .registered)
        #expect(await load(cache, "x"))                      // the one slot came back
        guard case .ready(_, let handle) = cache.acquire("x") else { return }
        #expect(handle == "x from /new")
    }

    @Test func unknownAdaptersAndBadLimitsAreRefused() throws {
        #expect(throws: AdapterCacheError.self) { try StringCache(maxResidentCount: 0, loader: fakeLoader()) }
        #expect(throws: AdapterCacheError.self) { try StringCache(maxResidentCount: 1, maxResidentBytes: 0, loader: fakeLoader()) }
        let cache = try StringCache(maxResidentCount: 1, loader: fakeLoader())
        #expect(throws: AdapterCacheError.unknownAdapter("nope")) { try cache.unregister(name: "nope") }
        guard case .failed(let message) = cache.acquire("nope") else {
            Issue.record("an unknown adapter was not refused")
            return
        }
        #expect(message.contains("nope"))
    }
}
