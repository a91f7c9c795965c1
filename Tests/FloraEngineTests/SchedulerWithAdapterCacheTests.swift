// The scheduler with the real adapter cache as its gate, driven as the engine core drives them:
// schedule → run → update → start the queued loads. Loads finish between steps, at random and
// out of order; the cache writes every residency change into the (recording) bank at once.

import FloraEngine
import Testing

@Suite struct SchedulerWithAdapterCacheTests {
    @Test func coldAdaptersLoadWhileOthersRunAndABrokenOneFailsAlone() throws {
        var generator = SeededGenerator(seed: 42)
        var sizes: [String: Int] = [:]
        for i in 0..<10 { sizes["a\(i)"] = Int.random(in: 300...500, using: &generator) }
        let cache = try StringCache(maxResidentCount: 3, maxResidentBytes: 1000)
        let loader = FakeLoader(bytes: sizes, failing: ["broken"])
        for i in 0..<1000 { try cache.register(name: "a\(i)", path: "/adapters/a\(i)") }
        try cache.register(name: "broken", path: "/adapters/broken")
        let harness = try SchedulerHarness(
            config: SchedulerConfig(maxNumSeqs: 8, maxNumBatchedTokens: 64, maxLoras: 3), blockCount: 48, blockSize: 8, gate: cache)

        var problems: [String] = []
        harness.afterSchedule = { output in
            for item in output.scheduled {
                guard let name = item.adapterName else { continue }
                guard let slot = cache.slot(of: name), cache.store.slots[slot]?.hasPrefix(name + " ") == true,
                      cache.pinCount(of: name) > 0 else {
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
        var inFlight: [(request: AdapterLoadRequest, due: Int)] = []
        while harness.steps < 5000 {
            while let next = arrivals.first, next.step <= harness.steps {
                try harness.add(next)
                arrivals.removeFirst()
            }
            if arrivals.isEmpty, !harness.scheduler.hasUnfinishedSequences { break }
            harness.step()
            // Loads run while steps go on: each finishes a random number of steps later, so
            // they end out of order.
            inFlight += cache.startQueuedLoads().map { ($0, harness.steps + Int.random(in: 0...3, using: &generator)) }
            while let index = inFlight.firstIndex(where: { $0.due <= harness.steps }) {
                let (request, _) = inFlight.remove(at: index)
                cache.finishLoad(request, result: loader.result(request))
                inFlight += cache.takeQueuedLoads().map { ($0, harness.steps + Int.random(in: 0...3, using: &generator)) }
            }
        }
        #expect(cache.store.problems == [])

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
