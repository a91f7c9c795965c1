// The continuous-batching scheduler (Orca's iteration-level scheduling; vLLM v1's scheduler
// without prefill or decode phases). A sequence is only "tokens computed" against "tokens
// total"; each step hands every running sequence, in admission order, as many of its pending
// tokens as the token budget has left (a prompt chunk or one decode token alike), then admits
// waiting sequences first come, first served. The engine loop is
//     let output = scheduler.schedule()   → run the model on output.scheduled → sample →
//     scheduler.update(output, sampled:)
// No tensor is touched here; KV blocks are bookkeeping in `KVBlockManager`.
//
// Exceptions to first come, first served (both as in vLLM): a sequence whose adapter is not
// resident yet, or whose adapter would exceed `maxLoras` distinct adapters in the running set,
// is skipped and later sequences may be admitted before it. A sequence waiting for KV blocks
// is never passed.
//
// Preemption: when a running sequence needs a block and the pool is empty, the most recently
// admitted running sequence gives back all its blocks and goes to the front of the waiting
// queue; it recomputes later (its computed full blocks stay in the prefix cache, so the
// recompute often starts from a hit). No sequence is admitted in a step that preempted.
//
// Admission keeps one free block per running sequence (a growth reserve, like vLLM v0's
// watermark but scaled by the batch). Without it a burst on a small pool thrashes: a newcomer
// takes the last free blocks, the next block boundary of an older sequence preempts it, and
// its prompt is computed again soon after.

struct SequenceRecord {
    var tokens: [Int32]   // prompt, then generated
    let promptTokenCount: Int
    var computed = 0      // tokens whose keys and values are in the KV cache
    let adapterName: String?
    let maxTokens: Int?
    var isRunning = false
}

public final class Scheduler {
    public let config: SchedulerConfig
    public let blockManager: KVBlockManager
    public let adapterGate: (any AdapterGate)?
    /// Preemptions since the start (vLLM's `num_preemptions_total`).
    public private(set) var preemptionCount = 0
    /// Sequences that left, by reason (`.abort` counts aborts); failures are counted apart.
    public private(set) var finishedCounts: [FinishReason: Int] = [:]
    public private(set) var failedCount = 0

    private var records: [SequenceID: SequenceRecord] = [:]
    private var waiting: [SequenceID] = []   // FIFO; preempted sequences go to the front
    private var running: [SequenceID] = []   // admission order
    private var nextID = 0

    /// Throws when a limit is out of range, or when `maxModelLength` tokens would not fit in the
    /// KV pool (vLLM refuses that configuration too: a long request could never finish).
    public init(config: SchedulerConfig, blockManager: KVBlockManager, adapterGate: (any AdapterGate)? = nil) throws(SchedulerError) {
        try config.validate()
        if let limit = config.maxModelLength, blockManager.blocksNeeded(forTokens: limit - 1) > blockManager.blockCount {
            throw .invalidConfiguration(
                "max_model_len \(limit) needs \(blockManager.blocksNeeded(forTokens: limit - 1)) KV blocks per sequence; the pool holds \(blockManager.blockCount) blocks of \(blockManager.blockSize) tokens")
        }
        self.config = config
        self.blockManager = blockManager
        self.adapterGate = adapterGate
    }

    // MARK: Queues

    public var waitingCount: Int { waiting.count }
    public var runningCount: Int { running.count }
    public var hasUnfinishedSequences: Bool { !records.isEmpty }
    public var waitingIDs: [SequenceID] { waiting }
    public var runningIDs: [SequenceID] { running }

    public func sequence(_ id: SequenceID) -> SequenceSnapshot? {
        records[id].map {
            SequenceSnapshot(id: id, promptTokenCount: $0.promptTokenCount, tokens: $0.tokens, computedTokenCount: $0.computed,
                             adapterName: $0.adapterName, isRunning: $0.isRunning)
        }
    }

    /// Queues a sequence at the back of the waiting queue. `maxTokens`: generated tokens after
    /// which `update` finishes it with `.length` (nil: only `maxModelLength` stops it).
    public func add(promptTokens: [Int32], adapterName: String? = nil, maxTokens: Int? = nil) throws(SchedulerError) -> SequenceID {
        let id = SequenceID(rawValue: nextID)
        try add(id: id, promptTokens: promptTokens, adapterName: adapterName, maxTokens: maxTokens)
        return id
    }

    /// `add` under an id the caller made (the engine gives each request its identity once, when
    /// it arrives). Ids must be unique among the sequences present.
    public func add(id: SequenceID, promptTokens: [Int32], adapterName: String? = nil, maxTokens: Int? = nil) throws(SchedulerError) {
        guard records[id] == nil else { throw .duplicateID(id) }
        guard !promptTokens.isEmpty else { throw .emptyPrompt }
        if let maxTokens, maxTokens < 1 { throw .invalidMaxTokens(maxTokens) }
        if let limit = config.maxModelLength, promptTokens.count >= limit {
            throw .promptTooLong(tokens: promptTokens.count, maxModelLength: limit)
        }
        let needed = blockManager.blocksNeeded(forTokens: promptTokens.count)
        guard needed <= blockManager.blockCount else {
            throw .promptExceedsKVCache(tokens: promptTokens.count, blocksNeeded: needed, blockCount: blockManager.blockCount)
        }
        nextID = max(nextID, id.rawValue + 1)
        records[id] = SequenceRecord(
            tokens: promptTokens, promptTokenCount: promptTokens.count, adapterName: adapterName, maxTokens: maxTokens)
        waiting.append(id)
    }

    // MARK: One step

    /// Picks this step's tokens: running sequences first, in admission order, each up to the
    /// budget left; then waiting ones, first come, first served, while `maxNumSeqs`, the token
    /// budget, KV blocks and adapters allow. Allocates the KV blocks of every scheduled token.
    public func schedule() -> SchedulerOutput {
        var output = SchedulerOutput()
        var budget = config.maxNumBatchedTokens
        var index = 0
        while index < running.count, budget > 0 {
            let id = running[index]
            guard let record = records[id] else {
                running.remove(at: index)
                continue
            }
            let remaining = record.tokens.count - record.computed
            guard remaining > 0 else {
                index += 1
                continue
            }
            let end = record.computed + min(remaining, budget)
            if let problem = neverFits(tokenCount: end) {
                fail(id, problem, into: &output)
                continue
            }
            var allocated = blockManager.allocate(id, tokenCount: end)
            while !allocated, let victim = running.last, victim != id {
                preempt(victim, into: &output)
                allocated = blockManager.allocate(id, tokenCount: end)
            }
            guard allocated else {
                // `id` is the newest running sequence now; with nobody else holding blocks the
                // allocation cannot fail (`neverFits` said it fits), so this is the defensive branch.
                if running.count == 1 {
                    fail(id, "could not get KV blocks even with the pool to itself", into: &output)
                } else {
                    preempt(id, into: &output)
                }
                break
            }
            output.scheduled.append(scheduledSequence(id, record, end: end))
            budget -= end - record.computed
            index += 1
        }
        if output.preempted.isEmpty { admitWaiting(budget: &budget, into: &output) }
        return output
    }

    /// Applies a step's results: every scheduled sequence still present advances its computed
    /// tokens, and takes its sampled token when it wanted logits. A sequence that wanted logits
    /// but has no entry in `sampled` is left as it was (it recomputes its chunk next step).
    /// Returns the sequences that reached `maxTokens` or `maxModelLength`: they are removed with
    /// `.length`. Finish the ones that hit a stop token or string *before* calling this.
    @discardableResult
    public func update(_ output: SchedulerOutput, sampled: [SequenceID: Int32]) -> [FinishedSequence] {
        var finished: [FinishedSequence] = []
        for item in output.scheduled {
            guard var record = records[item.id], record.isRunning, record.computed == item.tokenRange.lowerBound,
                  item.tokenRange.upperBound <= record.tokens.count
            else { continue }
            if item.wantsLogits {
                guard let token = sampled[item.id] else { continue }
                record.tokens.append(token)
            }
            record.computed = item.tokenRange.upperBound
            records[item.id] = record
            blockManager.markComputed(
                item.id, tokens: record.tokens, computedTokenCount: record.computed, adapterName: record.adapterName)
            if item.wantsLogits, reachedLength(record) {
                remove(item.id)
                finishedCounts[.length, default: 0] += 1
                finished.append(FinishedSequence(id: item.id, outcome: .finished(.length)))
            }
        }
        return finished
    }

    // MARK: Leaving

    /// Removes a waiting or running sequence and frees its blocks at once. False if unknown.
    @discardableResult
    public func finish(_ id: SequenceID, reason: FinishReason) -> Bool {
        guard remove(id) else { return false }
        finishedCounts[reason, default: 0] += 1
        return true
    }

    /// `finish(id, reason: .abort)`: the client went away or cancelled.
    @discardableResult
    public func abort(_ id: SequenceID) -> Bool { finish(id, reason: .abort) }

    // MARK: Internals

    private func admitWaiting(budget: inout Int, into output: inout SchedulerOutput) {
        var runningAdapters = Set(running.compactMap { records[$0]?.adapterName })
        var leaving = Set<SequenceID>()
        for id in waiting {
            guard running.count < config.maxNumSeqs, budget > 0 else { break }
            guard var record = records[id] else {
                leaving.insert(id)
                continue
            }
            if let name = record.adapterName {
                if let maxLoras = config.maxLoras, !runningAdapters.contains(name), runningAdapters.count >= maxLoras { continue }
                switch adapterGate?.readiness(ofAdapter: name) ?? .ready {
                case .ready: break
                case .pending: continue
                case .failed(let message):
                    leaving.insert(id)
                    fail(id, "adapter '\(name)': \(message)", into: &output)
                    continue
                }
            }
            if let problem = neverFits(tokenCount: record.tokens.count) {
                leaving.insert(id)
                fail(id, problem, into: &output)
                continue
            }
            let prefix = blockManager.cachedPrefix(of: record.tokens, adapterName: record.adapterName)
            let end = prefix.tokenCount + min(record.tokens.count - prefix.tokenCount, budget)
            guard blockManager.allocate(id, tokenCount: end, reusing: prefix, keepingFree: running.count) else { break }
            record.computed = prefix.tokenCount
            record.isRunning = true
            records[id] = record
            if let name = record.adapterName {
                adapterGate?.pin(name)
                runningAdapters.insert(name)
            }
            running.append(id)
            leaving.insert(id)
            output.scheduled.append(scheduledSequence(id, record, end: end))
            budget -= end - record.computed
        }
        if !leaving.isEmpty { waiting.removeAll { leaving.contains($0) } }
    }

    private func scheduledSequence(_ id: SequenceID, _ record: SequenceRecord, end: Int) -> ScheduledSequence {
        ScheduledSequence(
            id: id, tokenRange: record.computed..<end, tokens: Array(record.tokens[record.computed..<end]),
            wantsLogits: end == record.tokens.count, blockTable: blockManager.blockTable(of: id), adapterName: record.adapterName)
    }

    private func neverFits(tokenCount: Int) -> String? {
        let needed = blockManager.blocksNeeded(forTokens: tokenCount)
        guard needed > blockManager.blockCount else { return nil }
        return "the sequence needs \(needed) KV blocks for \(tokenCount) tokens; the pool holds \(blockManager.blockCount)"
    }

    private func reachedLength(_ record: SequenceRecord) -> Bool {
        if let maxTokens = record.maxTokens, record.tokens.count - record.promptTokenCount >= maxTokens { return true }
        if let limit = config.maxModelLength, record.tokens.count >= limit { return true }
        return false
    }

    /// The newest running sequence goes back to the front of the waiting queue.
    private func preempt(_ id: SequenceID, into output: inout SchedulerOutput) {
        guard var record = records[id], let index = running.lastIndex(of: id) else { return }
        running.remove(at: index)
        blockManager.free(id)
        if let name = record.adapterName { adapterGate?.unpin(name) }
        record.computed = 0
        record.isRunning = false
        records[id] = record
        waiting.insert(id, at: 0)
        output.preempted.append(id)
        preemptionCount += 1
    }

    private func fail(_ id: SequenceID, _ message: String, into output: inout SchedulerOutput) {
        guard remove(id) else { return }
        failedCount += 1
        output.finished.append(FinishedSequence(id: id, outcome: .failed(message)))
    }

    /// Takes `id` out of whichever queue holds it, frees its blocks and its adapter pin.
    @discardableResult
    private func remove(_ id: SequenceID) -> Bool {
        guard let record = records.removeValue(forKey: id) else { return false }
        if record.isRunning {
            if let index = running.firstIndex(of: id) { running.remove(at: index) }
            if let name = record.adapterName { adapterGate?.unpin(name) }
        } else if let index = waiting.firstIndex(of: id) {
            waiting.remove(at: index)
        }
        blockManager.free(id)
        return true
    }
}
