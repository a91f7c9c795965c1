import FloraBench
import FloraTestSupport
import Testing

@Suite struct WorkloadTests {
    let tokenIds = (0..<1000).map(Int32.init)

    @Test func theSameSeedGivesTheSameRequestSet() throws {
        let a = try Workload(spec: .scaled(0.1, seed: 7), tokenIds: tokenIds)
        let b = try Workload(spec: .scaled(0.1, seed: 7), tokenIds: tokenIds)
        let c = try Workload(spec: .scaled(0.1, seed: 8), tokenIds: tokenIds)
        #expect(a == b)
        #expect(a.requests != c.requests)
    }

    @Test func theScaleMultipliesTheRequestCount() throws {
        #expect(try Workload(spec: .scaled(1), tokenIds: tokenIds).requests.count == 1000)
        #expect(try Workload(spec: .scaled(0.05), tokenIds: tokenIds).requests.count == 50)
        #expect(try Workload(spec: .scaled(0.0001), tokenIds: tokenIds).requests.count == 1)
    }

    @Test(arguments: [1.0, 0.3, 0.05])
    func lengthsStayWithinTheScaledBounds(scale: Double) throws {
        let spec = WorkloadSpec(seed: 3, requestCount: 2000, lengthScale: scale)
        let workload = try Workload(spec: spec, tokenIds: tokenIds)
        let prompts = spec.promptLength.bounds(scale: scale), outputs = spec.outputLength.bounds(scale: scale)
        #expect(prompts == Int((50 * scale).rounded())...Int((2000 * scale).rounded()))
        for r in workload.requests {
            #expect(prompts.contains(r.promptTokens.count))
            #expect(outputs.contains(r.outputTokens))
        }
        // Both bounds are reached by 2,000 draws of these tails.
        #expect(workload.requests.contains { $0.promptTokens.count == prompts.lowerBound })
        #expect(workload.requests.contains { $0.outputTokens == outputs.upperBound } || scale < 1)
    }

    @Test func lengthsFollowTheChatDistribution() throws {
        let workload = try Workload(spec: .scaled(1, seed: 11), tokenIds: tokenIds)
        let prompts = workload.requests.map { Double($0.promptTokens.count) }
        let outputs = workload.requests.map { Double($0.outputTokens) }
        // Log-normal medians 160 and 128 (clipping is far from the median); 1,000 draws.
        #expect(abs(Statistics.median(prompts) / 160 - 1) < 0.12)
        #expect(abs(Statistics.median(outputs) / 128 - 1) < 0.12)
        // σ: the 84th percentile of a log-normal is median · e^σ.
        #expect(abs(Statistics.percentile(prompts, 84.13) / (160 * 2.718) - 1) < 0.2)
        #expect(abs(Statistics.percentile(outputs, 84.13) / (128 * 2.226) - 1) < 0.2)
        #expect((200...330).contains(Statistics.mean(prompts)))
    }

    @Test func promptsUseOnlyTheGivenTokens() throws {
        let allowed: [Int32] = [5, 9, 300]
        let workload = try Workload(spec: .scaled(0.02), tokenIds: allowed)
        let used = Set(workload.requests.flatMap(\.promptTokens))
        #expect(used == Set(allowed))
    }

    @Test func ordinaryTokensLeaveOutSpecialAndStopTokens() throws {
        let ids = Workload.ordinaryTokenIds(of: try TinyModels.tokenizer())
        #expect(ids.count == 256)
        #expect(!ids.contains(256))
    }

    @Test func everyRequestHasItsOwnAdapterByDefault() throws {
        let workload = try Workload(spec: .scaled(0.1), tokenIds: tokenIds)
        #expect(workload.distinctAdapters == Array(0..<100))
    }

    @Test(arguments: [1, 8, 64, 100, 4096])
    func aPoolNoLargerThanTheSetIsUsedWhole(pool: Int) throws {
        var spec = WorkloadSpec.scaled(0.1, seed: 2)
        spec.adapterPoolSize = pool
        let workload = try Workload(spec: spec, tokenIds: tokenIds)
        #expect(workload.distinctAdapters == Array(0..<min(pool, 100)))
        // The pool changes the adapters only, not the lengths or prompts.
        let plain = try Workload(spec: .scaled(0.1, seed: 2), tokenIds: tokenIds)
        #expect(workload.requests.map(\.promptTokens) == plain.requests.map(\.promptTokens))
        #expect(workload.requests.map(\.outputTokens) == plain.requests.map(\.outputTokens))
    }

    @Test func poissonArrivalsHaveTheRequestedRate() throws {
        var spec = WorkloadSpec.scaled(1, seed: 5)
        spec.arrivalRate = 4
        let arrivals = try Workload(spec: spec, tokenIds: tokenIds).requests.map(\.arrivalSeconds)
        #expect(arrivals.first == 0)
        #expect(zip(arrivals, arrivals.dropFirst()).allSatisfy { $0 <= $1 })
        let gaps = zip(arrivals.dropFirst(), arrivals).map { $0 - $1 }
        #expect(abs(Statistics.mean(gaps) / 0.25 - 1) < 0.1)
        // Exponential gaps: the median gap is ln 2 / rate.
        #expect(abs(Statistics.median(gaps) / (0.6931 / 4) - 1) < 0.15)
        #expect(try Workload(spec: .scaled(0.1), tokenIds: tokenIds).requests.allSatisfy { $0.arrivalSeconds == 0 })
    }

    @Test func badSpecificationsAreRefused() {
        var spec = WorkloadSpec.scaled(0.1)
        spec.requestCount = 0
        #expect(throws: BenchError.self) { try Workload(spec: spec, tokenIds: tokenIds) }
        spec = .scaled(0.1)
        spec.lengthScale = -1
        #expect(throws: BenchError.self) { try Workload(spec: spec, tokenIds: tokenIds) }
        spec = .scaled(0.1)
        spec.arrivalRate = 0
        #expect(throws: BenchError.self) { try Workload(spec: spec, tokenIds: tokenIds) }
        #expect(throws: BenchError.self) { try Workload(spec: .scaled(0.1), tokenIds: []) }
    }
}
