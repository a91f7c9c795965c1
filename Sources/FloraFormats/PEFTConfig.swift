// adapter_config.json of a PEFT adapter folder, as Hugging Face PEFT writes it (LoraConfig,
// IA3Config; field names and defaults of PEFT 0.x), plus Flora's fLoRA config: the same layout
// with "peft_type": "FLORA" (DESIGN.md section 2). Features that change the mathematics in ways
// Flora does not implement are refused here, with the key, what was expected and what was found.

import Foundation

/// A validated PEFT adapter config: decoding checks JSON types and refuses what Flora cannot
/// serve. Prefer `read(file:)` or `parse(_:file:)`, whose errors name the file.
public struct PEFTConfig: Decodable, Sendable, Equatable {
    public enum PEFTType: String, Sendable, CaseIterable {
        case lora = "LORA"
        case ia3 = "IA3"
        case flora = "FLORA"
        /// PEFT's RoadConfig: per output pair a rotation and scale (`road_theta`, `road_alpha`).
        case road = "ROAD"
    }

    /// PEFT's RoAd variants: how many angles and scales each output pair has (1, 2 or 4 numbers
    /// per pair, as `peft/tuners/road/layer.py` shares them).
    public enum RoadVariant: String, Sendable, CaseIterable, Codable {
        case road1 = "road_1"
        case road2 = "road_2"
        case road4 = "road_4"
    }

    /// PEFT's way of naming modules: a list of names (a module matches when its path equals an
    /// entry or ends with "." + entry) or a regular expression that must match the whole path.
    public enum ModuleSelector: Sendable, Equatable {
        case names([String])
        case pattern(String)
    }

    public var peftType: PEFTType
    /// Default rank (`r`; PEFT's default 8). Unused by IA3.
    public var r: Int
    /// Default `lora_alpha` (PEFT's default 8). LoRA only.
    public var loraAlpha: Double
    public var useRSLoRA: Bool
    /// LoRA with DoRA's magnitude vector (`use_dora`).
    public var useDoRA: Bool
    /// RoAd only: the variant and the size of the groups inside which outputs are paired.
    public var roadVariant: RoadVariant
    public var groupSize: Int
    public var targetModules: ModuleSelector
    public var excludeModules: ModuleSelector?
    /// IA3: modules whose input is scaled. PEFT fills Llama's default, `down_proj`, when absent.
    public var feedforwardModules: ModuleSelector?
    /// Per-module ranks: keys are regular expressions matched against the end of a module's path.
    public var rankPattern: [String: Int]
    /// Per-module alphas, matched like `rankPattern`.
    public var alphaPattern: [String: Double]
    /// Only these layer indices are adapted (PEFT applies this to list-form `target_modules` only).
    public var layersToTransform: [Int]?
    /// Modules the adapter replaces by a full trained copy: Flora serves `lm_head` and the token
    /// embedding (`embed_tokens`, GPTBigCode's `wte`), PEFT's usual choices for a new vocabulary.
    public var modulesToSave: [String]
    public var baseModelNameOrPath: String?
    public var taskType: String?

    public init(
        peftType: PEFTType, r: Int = 8, loraAlpha: Double = 8, useRSLoRA: Bool = false, targetModules: ModuleSelector,
        excludeModules: ModuleSelector? = nil, feedforwardModules: ModuleSelector? = nil, rankPattern: [String: Int] = [:],
        alphaPattern: [String: Double] = [:], layersToTransform: [Int]? = nil, modulesToSave: [String] = [],
        baseModelNameOrPath: String? = nil, taskType: String? = "CAUSAL_LM", useDoRA: Bool = false,
        roadVariant: RoadVariant = .road1, groupSize: Int = 64
    ) {
        self.peftType = peftType
        self.r = r
        self.loraAlpha = loraAlpha
        self.useRSLoRA = useRSLoRA
        self.targetModules = targetModules
        self.excludeModules = excludeModules
        self.feedforwardModules = feedforwardModules
        self.rankPattern = rankPattern
        self.alphaPattern = alphaPattern
        self.layersToTransform = layersToTransform
        self.modulesToSave = modulesToSave
        self.baseModelNameOrPath = baseModelNameOrPath
        self.taskType = taskType
        self.useDoRA = useDoRA
        self.roadVariant = roadVariant
        self.groupSize = groupSize
    }

    public init(from decoder: any Decoder) throws {
        self = try RawPEFTConfig(from: decoder).validated(file: "adapter_config.json")
    }

    /// Reads and validates an `adapter_config.json`.
    public static func read(file: String) throws -> PEFTConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            let exists = FileManager.default.fileExists(atPath: file)
            throw FormatError(exists ? .io : .missing, file: file, expected: "a readable adapter_config.json",
                              found: exists ? "\(error.localizedDescription)" : "no such file")
        }
        return try parse(data, file: file)
    }

    /// Parses and validates config JSON; `file` names it in errors.
    public static func parse(_ data: Data, file: String) throws -> PEFTConfig {
        let raw: RawPEFTConfig
        do {
            raw = try JSONDecoder().decode(RawPEFTConfig.self, from: data)
        } catch let error as DecodingError {
            throw formatError(error, file: file)
        } catch let error as FormatError {
            throw error
        } catch {
            throw FormatError(.invalidValue, file: file, expected: "a JSON object", found: "\(error)")
        }
        return try raw.validated(file: file)
    }
}

extension PEFTConfig {
    /// The module names outside the transformer blocks that Flora adapts: the token embedding
    /// (Llama's `embed_tokens`, GPTBigCode's `wte`) and the LM head.
    public static let vocabularyModuleNames = ["embed_tokens", "wte", "lm_head"]
}

/// Translates a decoding failure into an error naming the key, what was expected and found.
private func formatError(_ error: DecodingError, file: String) -> FormatError {
    func key(_ path: [any CodingKey]) -> String? {
        path.isEmpty ? nil : path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .typeMismatch(let type, let context):
        return FormatError(.typeMismatch, file: file, item: key(context.codingPath), expected: "a value of type \(type)",
                           found: context.debugDescription)
    case .valueNotFound(let type, let context):
        return FormatError(.missing, file: file, item: key(context.codingPath), expected: "a value of type \(type)", found: "null")
    case .keyNotFound(let codingKey, let context):
        return FormatError(.missing, file: file, item: key(context.codingPath + [codingKey]), expected: "this key", found: "no such key")
    case .dataCorrupted(let context):
        let underlying = (context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription
        if context.codingPath.isEmpty {
            return FormatError(.invalidValue, file: file, expected: "a JSON object", found: "invalid JSON (\(underlying))")
        }
        return FormatError(.invalidValue, file: file, item: key(context.codingPath), expected: "a valid value", found: underlying)
    @unknown default:
        return FormatError(.invalidValue, file: file, expected: "a PEFT adapter config", found: "\(error)")
    }
}

/// The config as JSON types, before Flora's checks. Unknown keys are ignored, as PEFT does.
private struct RawPEFTConfig: Decodable {
    var peft_type: String?
    var r: Int?
    var lora_alpha: Double?
    var use_rslora: Bool?
    var target_modules: StringOrList?
    var exclude_modules: StringOrList?
    var feedforward_modules: StringOrList?
    var rank_pattern: [String: Int]?
    var alpha_pattern: [String: Double]?
    var fan_in_fan_out: Bool?
    var use_dora: Bool?
    var bias: String?
    var lora_bias: Bool?
    var modules_to_save: [String]?
    var ensure_weight_tying: Bool?
    var layers_to_transform: IntOrList?
    var layers_pattern: StringOrList?
    var layer_replication: [[Int]]?
    var base_model_name_or_path: String?
    var task_type: String?
    var reduction: String?
    var variant: String?
    var group_size: Int?

    func validated(file: String) throws -> PEFTConfig {
        func refuse(_ key: String, expected: String, found: String) -> FormatError {
            FormatError(.invalidValue, file: file, item: key, expected: expected, found: found)
        }
        guard let typeName = peft_type else {
            throw FormatError(.missing, file: file, item: "peft_type", expected: "LORA, IA3, FLORA or ROAD", found: "no such key")
        }
        guard let type = PEFTConfig.PEFTType(rawValue: typeName) else {
            throw refuse("peft_type", expected: "LORA, IA3, FLORA or ROAD", found: "'\(typeName)'")
        }
        guard let targets = target_modules else {
            throw FormatError(.missing, file: file, item: "target_modules", expected: "a list of module names or a regular expression",
                              found: "no value")
        }
        let rank = r ?? 8
        if type != .ia3, type != .road, rank <= 0 { throw refuse("r", expected: "a positive rank", found: "\(rank)") }
        let alpha = lora_alpha ?? 8
        guard alpha.isFinite else { throw refuse("lora_alpha", expected: "a finite number", found: "\(alpha)") }
        if fan_in_fan_out == true {
            throw refuse("fan_in_fan_out", expected: "false (weights stored [out, in], as Llama's nn.Linear)", found: "true")
        }
        if use_dora == true, type != .lora { throw refuse("use_dora", expected: "false (DoRA is a LORA option)", found: "true") }
        var roadVariant = PEFTConfig.RoadVariant.road1
        var groupSize = group_size ?? 64  // RoadConfig's defaults: road_1, 64
        if type == .road {
            let name = variant ?? "road_1"
            guard let known = PEFTConfig.RoadVariant(rawValue: name) else {
                throw refuse("variant", expected: "one of road_1, road_2, road_4", found: "'\(name)'")
            }
            roadVariant = known
            guard groupSize > 0, groupSize % 2 == 0 else {
                throw refuse("group_size", expected: "a positive even number (outputs are paired inside a group)", found: "\(groupSize)")
            }
        } else {
            groupSize = 64
        }
        if let bias, bias != "none" { throw refuse("bias", expected: "\"none\" (Flora trains no biases)", found: "\"\(bias)\"") }
        if lora_bias == true { throw refuse("lora_bias", expected: "false (Flora has no bias on lora_B)", found: "true") }
        let vocabularyModules = PEFTConfig.vocabularyModuleNames
        if let stray = modules_to_save?.first(where: { !vocabularyModules.contains($0) }) {
            throw refuse("modules_to_save", expected: "only \(vocabularyModules.joined(separator: ", ")) (Flora replaces no other module)",
                         found: "'\(stray)'")
        }
        if ensure_weight_tying == true {
            throw refuse("ensure_weight_tying", expected: "false (Flora adapts a tied head and embedding separately, as PEFT's default)",
                         found: "true")
        }
        if let layer_replication, !layer_replication.isEmpty {
            throw refuse("layer_replication", expected: "null (Flora does not replicate layers)", found: "\(layer_replication)")
        }
        if let layers_pattern, layers_pattern.values != ["layers"] {
            throw refuse("layers_pattern", expected: "null or \"layers\" (the Llama layer list)", found: "\(layers_pattern.values)")
        }
        if type == .flora, let reduction, reduction != "mean" {
            throw refuse("reduction", expected: "\"mean\" (y = mean_j B[:, j] ∘ (W (A[j, :] ∘ x)))", found: "\"\(reduction)\"")
        }
        for (key, value) in rank_pattern ?? [:] where value <= 0 {
            throw refuse("rank_pattern.\(key)", expected: "a positive rank", found: "\(value)")
        }
        for (key, value) in alpha_pattern ?? [:] where !value.isFinite {
            throw refuse("alpha_pattern.\(key)", expected: "a finite number", found: "\(value)")
        }
        let layers = layers_to_transform?.values
        if let layers, let bad = layers.first(where: { $0 < 0 }) {
            throw refuse("layers_to_transform", expected: "non-negative layer indices", found: "\(bad)")
        }
        var feedforward = feedforward_modules.map(\.selector)
        if type == .ia3, case .names(let ff)? = feedforward, case .names(let names) = targets.selector,
           let stray = ff.first(where: { !names.contains($0) }) {
            throw refuse("feedforward_modules", expected: "a subset of target_modules \(names)", found: "'\(stray)'")
        }
        if type == .ia3, feedforward == nil { feedforward = .names(["down_proj"]) }  // PEFT's Llama default
        return PEFTConfig(
            peftType: type, r: type == .ia3 || type == .road ? 1 : rank, loraAlpha: alpha, useRSLoRA: use_rslora ?? false,
            targetModules: targets.selector, excludeModules: exclude_modules.map(\.selector),
            feedforwardModules: type == .ia3 ? feedforward : nil, rankPattern: rank_pattern ?? [:],
            alphaPattern: alpha_pattern ?? [:], layersToTransform: layers, modulesToSave: modules_to_save ?? [],
            baseModelNameOrPath: base_model_name_or_path,
            taskType: task_type, useDoRA: type == .lora && use_dora == true, roadVariant: roadVariant, groupSize: groupSize)
    }
}

/// A JSON string or list of strings (PEFT's `Union[list[str], str]`).
private enum StringOrList: Decodable {
    case string(String)
    case list([String])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            self = .string(string)
        } else {
            self = .list(try container.decode([String].self))
        }
    }

    var selector: PEFTConfig.ModuleSelector {
        switch self {
        case .string(let pattern): .pattern(pattern)
        case .list(let names): .names(names)
        }
    }

    var values: [String] {
        switch self {
        case .string(let value): [value]
        case .list(let values): values
        }
    }
}

/// A JSON integer or list of integers (PEFT's `Union[list[int], int]`).
private enum IntOrList: Decodable {
    case one(Int)
    case list([Int])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int.self) {
            self = .one(value)
        } else {
            self = .list(try container.decode([Int].self))
        }
    }

    var values: [Int] {
        switch self {
        case .one(let value): [value]
        case .list(let values): values
        }
    }
}
