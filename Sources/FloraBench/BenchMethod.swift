// The ways of serving a request that `flora bench` compares (DESIGN.md sections 1 and 7).

import FloraAdapters
import FloraEngine
import Foundation

public enum BenchMethod: String, CaseIterable, Sendable, Codable {
    /// The base model: requests without adapter.
    case base
    /// fLoRA adapters: rank r costs r rows of the base product per token.
    case flora
    /// fLoRA with every group on the row expansion (`GroupMergePolicy.never`): `flora` before the
    /// per-group merge, measured beside it in the same run.
    case floraExpanded = "flora-expanded"
    /// fLoRA with the per-group merge but no merged weight kept across steps (a zero
    /// `mergedWeightBytes`): `flora` before MergedWeightCache.swift, measured beside it.
    case floraUnkept = "flora-unkept"
    /// LoRA through the gather-bmm kernel (the fLoRA paper's baseline).
    case loraBMM = "lora-bmm"
    /// LoRA through the segmented kernel (Punica's SGMV).
    case loraSegmented = "lora-segmented"
    /// IA3 vectors (no rank).
    case ia3
    /// DoRA: a LoRA delta (segmented kernel) plus one output scale `m / n` in the shared product.
    case dora
    /// RoAd (road_1, group size 64 where the outputs allow): an element-wise rotation after the shared product.
    case road

    /// The methods a benchmark runs unless told otherwise: all but `floraExpanded` and
    /// `floraUnkept`, which only matter when measuring the per-group merge.
    public static var standard: [BenchMethod] { allCases.filter { $0 != .floraExpanded && $0 != .floraUnkept } }

    /// The kind of adapter its requests carry; nil for the base model.
    public var adapterKind: AdapterKind? {
        switch self {
        case .base: nil
        case .flora, .floraExpanded, .floraUnkept: .flora
        case .loraBMM, .loraSegmented: .lora
        case .ia3: .ia3
        case .dora: .dora
        case .road: .road
        }
    }

    /// The engine's LoRA kernel for this method (irrelevant to the others).
    public var loraKernel: LoRAKernel { self == .loraBMM ? .bmm : .segmented }

    /// The engine's fLoRA group-merge policy for this method.
    public var groupMerge: GroupMergePolicy { self == .floraExpanded ? .never : .processDefault }

    /// Bytes of merged fLoRA weights the engine keeps across steps for this method.
    public var mergedWeightBytes: Int { self == .floraUnkept ? 0 : EngineDefaults.mergedWeightBytes }

    /// Whether the rank under test changes what this method computes.
    public var hasRank: Bool { adapterKind == .flora || self == .loraBMM || self == .loraSegmented || self == .dora }

    /// Parses a comma-separated list of method names.
    public static func list(_ text: String) throws -> [BenchMethod] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw BenchError.invalidArgument("no methods given") }
        return try names.map { name in
            guard let method = BenchMethod(rawValue: name) else {
                throw BenchError.invalidArgument(
                    "unknown method '\(name)', expected some of \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return method
        }
    }
}

/// Parses comma-separated positive integers (`--ranks 1,2,4`).
public func parsePositiveIntegers(_ text: String, option: String) throws -> [Int] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let values = parts.compactMap { Int($0) }
    guard !parts.isEmpty, values.count == parts.count, values.allSatisfy({ $0 > 0 }) else {
        throw BenchError.invalidArgument("\(option) must list positive integers separated by commas, got '\(text)'")
    }
    return values
}
