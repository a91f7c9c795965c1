// A stand-in for the model runner, for scheduler tests that need no model: a simulated KV pool
// that records which token (at which position, under which adapter) was written into every
// slot, and "logits" that are a deterministic function of what a sequence reads back through
// its block table. A wrong block table, a wrong prefix hit or a block overwritten while shared
// changes the tokens a request generates, so comparing them with `expectedTokens` checks the
// whole bookkeeping.

import FloraEngine
import FloraTensor

struct SimulatedKVEntry: Equatable {
    var token: Int32
    var position: Int
    var adapterName: String?
}

final class SimulatedModel {
    static let vocabularySize: Int32 = 997
    let blockSize: Int
    private var pool: [[SimulatedKVEntry?]]   // [blockCount][blockSize]
    /// Everything that went wrong, in words; tests expect it empty.
    private(set) var problems: [String] = []

    init(blockCount: Int, blockSize: Int) {
        self.blockSize = blockSize
        pool = Array(repeating: Array(repeating: nil, count: blockSize), count: blockCount)
    }

    /// The next token of a sequence whose keys and values are `tokens` under `adapterName`.
    static func nextToken(after tokens: [Int32], adapterName: String?) -> Int32 {
        var hash: UInt64 = 1469598103934665603
        for token in tokens { hash = (hash ^ UInt64(UInt32(bitPattern: token))) &* 1099511628211 }
        for byte in (adapterName ?? "-").utf8 { hash = (hash ^ UInt64(byte)) &* 1099511628211 }
        return Int32(hash % UInt64(vocabularySize))
    }

    /// The tokens a request generates when run alone.
    static func expectedTokens(prompt: [Int32], adapterName: String?, count: Int) -> [Int32] {
        var tokens = prompt
        for _ in 0..<count { tokens.append(nextToken(after: tokens, adapterName: adapterName)) }
        return Array(tokens[prompt.count...])
    }

    /// One forward: writes every scheduled token into its slot (refusing to write into a block
    /// that another sequence shares), then reads each logits sequence back from the pool.
    func run(_ output: SchedulerOutput, blockManager: KVBlockManager) -> [SequenceID: Int32] {
        for item in output.scheduled {
            for (offset, position) in item.tokenRange.enumerated() {
                let index = position / blockSize
                guard index < item.blockTable.count else {
                    problems.append("\(item.id): position \(position) has no block (table \(item.blockTable))")
                    continue
                }
                let block = item.blockTable[index]
                if blockManager.referenceCount(ofBlock: block) != 1 {
                    problems.append("\(item.id) writes position \(position) into block \(block), shared by \(blockManager.referenceCount(ofBlock: block))")
                }
                pool[Int(block)][position % blockSize] = SimulatedKVEntry(
                    token: item.tokens[offset], position: position, adapterName: item.adapterName)
            }
        }
        var sampled: [SequenceID: Int32] = [:]
        for item in output.scheduled where item.wantsLogits {
            var seen: [Int32] = []
            for position in 0..<item.tokenRange.upperBound {
                guard let entry = pool[Int(item.blockTable[position / blockSize])][position % blockSize],
                      entry.position == position, entry.adapterName == item.adapterName
                else {
                    problems.append("\(item.id) reads a wrong or empty slot at position \(position)")
                    break
                }
                seen.append(entry.token)
            }
            sampled[item.id] = Self.nextToken(after: seen, adapterName: item.adapterName)
        }
        return sampled
    }
}

/// An adapter gate whose answers the test sets, and which counts pins.
final class FakeAdapterGate: AdapterGate {
    var answers: [String: AdapterReadiness] = [:]
    private(set) var pins: [String: Int] = [:]
    private(set) var asked: [String] = []

    func readiness(ofAdapter name: String) -> AdapterReadiness {
        asked.append(name)
        return answers[name] ?? .ready
    }

    func pin(_ name: String) { pins[name, default: 0] += 1 }

    func unpin(_ name: String) {
        pins[name, default: 0] -= 1
        if pins[name] == 0 { pins[name] = nil }
    }
}

/// Reproducible randomness for the stress tests (FloraTensor's SplitMix64), named here so that
/// the scheduler tests need not import FloraTensor.
typealias SeededGenerator = FloraTensor.SeededGenerator

func randomTokens(_ count: Int, using generator: inout SeededGenerator) -> [Int32] {
    (0..<count).map { _ in Int32.random(in: 0..<SimulatedModel.vocabularySize, using: &generator) }
}
