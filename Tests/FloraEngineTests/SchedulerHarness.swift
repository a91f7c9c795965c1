// Drives a scheduler the way the engine will (schedule → simulated model → update), checking
// the scheduler's promises after every step.

import FloraEngine

struct Arrival {
    var step = 0
    var prompt: [Int32]
    var adapterName: String? = nil
    var maxTokens: Int
}

final class SchedulerHarness {
    let scheduler: Scheduler
    let model: SimulatedModel
    var blocks: KVBlockManager { scheduler.blockManager }
    private(set) var requests: [SequenceID: Arrival] = [:]
    private(set) var generated: [SequenceID: [Int32]] = [:]
    private(set) var outcomes: [SequenceID: SequenceOutcome] = [:]
    /// Sequences in the order they were first scheduled.
    private(set) var firstScheduled: [SequenceID] = []
    private(set) var outputs: [SchedulerOutput] = []
    private(set) var problems: [String] = []
    private(set) var steps = 0
    /// Runs between `schedule()` and the model, where the engine builds its batch.
    var afterSchedule: (SchedulerOutput) -> Void = { _ in }

    init(config: SchedulerConfig, blockCount: Int, blockSize: Int = 16, prefixCaching: Bool = true, gate: (any AdapterGate)? = nil) throws {
        let manager = try KVBlockManager(blockCount: blockCount, blockSize: blockSize, enablePrefixCaching: prefixCaching)
        scheduler = try Scheduler(config: config, blockManager: manager, adapterGate: gate)
        model = SimulatedModel(blockCount: blockCount, blockSize: blockSize)
    }

    @discardableResult
    func add(_ arrival: Arrival) throws -> SequenceID {
        let id = try scheduler.add(promptTokens: arrival.prompt, adapterName: arrival.adapterName, maxTokens: arrival.maxTokens)
        requests[id] = arrival
        return id
    }

    /// One engine step.
    @discardableResult
    func step() -> SchedulerOutput {
        let output = scheduler.schedule()
        check(output)
        afterSchedule(output)
        for item in output.scheduled where !firstScheduled.contains(item.id) { firstScheduled.append(item.id) }
        let sampled = model.run(output, blockManager: blocks)
        for (id, token) in sampled { generated[id, default: []].append(token) }
        let finished = scheduler.update(output, sampled: sampled)
        for item in output.finished + finished { outcomes[item.id] = item.outcome }
        let violations = blocks.consistencyViolations()
        if !violations.isEmpty { problems.append("step \(steps) after update: \(violations)") }
        outputs.append(output)
        steps += 1
        return output
    }

    /// Steps until nothing is left, adding `arrivals` at their steps; false if `maxSteps` ran out.
    @discardableResult
    func run(arrivals: [Arrival] = [], maxSteps: Int = 10_000, beforeStep: (SchedulerHarness) -> Void = { _ in }) throws -> Bool {
        var pending = arrivals.sorted { $0.step < $1.step }[...]
        while steps < maxSteps {
            while let next = pending.first, next.step <= steps {
                try add(next)
                pending.removeFirst()
            }
            beforeStep(self)
            if pending.isEmpty, !scheduler.hasUnfinishedSequences { return true }
            step()
        }
        return false
    }

    /// Problems with the end state: blocks left held, tokens that differ from a solo run.
    func endProblems() -> [String] {
        var found = problems + model.problems
        if blocks.freeBlockCount != blocks.blockCount {
            found.append("\(blocks.blockCount - blocks.freeBlockCount) blocks still held at the end")
        }
        for block in 0..<Int32(blocks.blockCount) where blocks.referenceCount(ofBlock: block) != 0 {
            found.append("block \(block) has reference count \(blocks.referenceCount(ofBlock: block)) at the end")
        }
        if blocks.sequenceCount != 0 { found.append("\(blocks.sequenceCount) sequences still hold block tables") }
        for (id, request) in requests where outcomes[id] == .finished(.length) {
            let expected = SimulatedModel.expectedTokens(prompt: request.prompt, adapterName: request.adapterName, count: request.maxTokens)
            if generated[id] != expected { found.append("\(id) generated \(generated[id] ?? []), alone it gives \(expected)") }
        }
        return found
    }

    private func check(_ output: SchedulerOutput) {
        let config = scheduler.config
        var problem: [String] = []
        if output.scheduledTokenCount > config.maxNumBatchedTokens {
            problem.append("\(output.scheduledTokenCount) tokens over the budget of \(config.maxNumBatchedTokens)")
        }
        if output.scheduled.count > config.maxNumSeqs || scheduler.runningCount > config.maxNumSeqs {
            problem.append("\(output.scheduled.count) scheduled, \(scheduler.runningCount) running, limit \(config.maxNumSeqs)")
        }
        if Set(output.scheduled.map(\.id)).count != output.scheduled.count { problem.append("a sequence is scheduled twice") }
        if !Set(output.scheduled.map(\.id)).isDisjoint(with: output.preempted) { problem.append("a preempted sequence is scheduled") }
        for item in output.scheduled {
            if item.tokenRange.isEmpty || item.tokens.count != item.tokenRange.count {
                problem.append("\(item.id) has range \(item.tokenRange) with \(item.tokens.count) tokens")
            }
            if item.blockTable.count * blocks.blockSize < item.tokenRange.upperBound {
                problem.append("\(item.id) computes up to \(item.tokenRange.upperBound) with \(item.blockTable.count) blocks")
            }
        }
        if let maxLoras = config.maxLoras {
            let adapters = Set(scheduler.runningIDs.compactMap { scheduler.sequence($0)?.adapterName })
            if adapters.count > maxLoras { problem.append("\(adapters.count) adapters running, max_loras \(maxLoras)") }
        }
        let violations = blocks.consistencyViolations()
        if !violations.isEmpty { problem.append("after schedule: \(violations)") }
        if !problem.isEmpty { problems.append("step \(steps): \(problem)") }
    }
}
