// The scheduler with the real adapter cache as its gate, driven as the engine will drive them:
// schedule → mirror the cache's events into a fake adapter bank → run → update → start the
// queued loads. Loads finish between steps, at random.

import FloraEngine
import Testing

@MainActor
@Suite struct SchedulerWithAdapterCacheTests {
    @Test func coldAdaptersLoadWhileOthersRunAndABrokenOneFailsAlone() async throws {
        var generator = SeededGenerator(seed: 42)
        var sizes: [String: Int] = [:]
        for i in 0..<10 { sizes["a\(i)"] = Int.random(in: 300...500, using: &generator) }
        let cache = try StringCache(
            maxResidentCount: 3, maxResidentBytes: 1000, loader: fakeLoader(bytes: sizes, failing: ["broken"]))
        for i in 0..<1000 { try cache.register(name: "a\(i)", path: "/adapters/a\(i)") }
        try cache.register(name: "broken", path: "/adapters/broken")
        let harness = try SchedulerHarness(
            config: SchedulerConfig(maxNumSeqs: 8, maxNumBatchedTokens: 64, maxLoras: 3), blockCount: 48, blockSize: 8, gate: cache)

        var bank: [Int: String] = [:]   // slot → adapter, as the engine mirrors it
        var problems: [String] = []
        harness.afterSchedule = { output in
            for event in cache.takeEvents() {
                switch event {
                case .resident(let name, let slot, _): bank[slot] = name
                case .evicted(let name, let slot):
                    if bank[slot] != name { problems.append("evicted \(name) from slot \(slot), which holds \(bank[slot] ?? "nothing")") }
                    bank[slot] = nil
                case .failed(let name, _):
                    if name != "broken" { problems.append("\(name) failed") }
                }
            }
            for item in output.scheduled {
                guard let name = item.adapterName else { continue }
                guard let slot = cache.slot(of: name), bank[slot] == name, cache.pinCount(of: name) > 0 else {
                    problems.append("\(item.id) runs with \(name), which is not resident and pinned")
                    continue
                }
            }
            if cache.residentBytes > 1000 || cache.residentCount > 3 {
                problems.append("\(cache.residentCount) adapters, \(cache.residentBytes) bytes resident")
            }
        }

        let names: [String?] = (0..<10).map { "a\($0)" } + [nil, nil, "broken"]
        var arrivals = (0..<120).map { _ in
            Arrival(step: Int.random(in: 0..<200, using: &generator),
                    prompt: randomTokens(Int.random(in: 1...40, using: &generator), using: &generator),
                    adapterName: names.randomElement(using: &generator)!, maxTokens: Int.random(in: 1...12, using: &generator))
        }.sorted { $0.step < $1.step }[...]
        while harness.steps < 5000 {
            while let next = arrivals.first, next.step <= harness.steps {
                try harness.add(next)
                arrivals.removeFirst()
            }
            if arrivals.isEmpty, !harness.scheduler.hasUnfinishedSequences { break }
            harness.step()
            cache.startQueuedLoads()
            if Bool.random(using: &generator) { await cache.waitForLoads() } else { await Task.yield() }
        }

        #expect(problems == [])
        #expect(harness.endProblems() == [])
        for (id, request) in harness.requests {
            if request.adapterName == "broken" {
                #expect(harness.outcomes[id].map { if case .failed = $0 { true } else { false } } == true)
            } else {
                #expect(harness.outcomes[id] == .finished(.length), "\(id) with \(request.adapterName ?? "no adapter")")
            }
        }
        #expect((0..<10).allSatisfy { cache.pinCount(of: "a\($0)") == 0 })
    }
}
