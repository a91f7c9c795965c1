// Tensor names of PEFT adapter files, e.g. for the Llama family
// `base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight` (older PEFT versions keep the
// adapter name: `...q_proj.lora_A.default.weight`), `...mlp.down_proj.ia3_l`, and Flora's
// `...q_proj.flora_A.weight` / `flora_B.weight` (DESIGN.md section 2); for GPTBigCode
// `base_model.model.transformer.h.3.attn.c_attn.lora_A.weight`.

/// A parsed adapter tensor name.
public struct PEFTTensorName: Sendable, Equatable, Hashable {
    /// What the tensor holds.
    public enum Role: String, Sendable, CaseIterable {
        case loraA = "lora_A"
        case loraB = "lora_B"
        case ia3 = "ia3_l"
        case floraA = "flora_A"
        case floraB = "flora_B"

        /// The tensor name's ending after the module, as current PEFT writes it.
        public var suffix: String { self == .ia3 ? rawValue : rawValue + ".weight" }
    }

    public static let prefix = "base_model.model."
    /// The paths of the decoder-layer lists Flora's architectures have: Llama's, GPTBigCode's.
    public static let layerStacks = ["model.layers", "transformer.h"]
    /// What every layer's tensor name starts with, per stack; built once (too long for inline strings).
    static let layersPrefixes = layerStacks.map { prefix + $0 + "." }

    /// The path of the model's list of layers: one of `layerStacks`.
    public let layerStack: String
    /// Layer index (`Int.max` when the digits overflow, so that range checks refuse it).
    public let layer: Int
    /// `self_attn`, `attn` or `mlp` (as found; the caller checks it against the module).
    public let block: String
    /// Module name, e.g. `q_proj` (as found; the caller checks it is known).
    public let module: String
    public let role: Role

    public init(layerStack: String = "model.layers", layer: Int, block: String, module: String, role: Role) {
        self.layerStack = layerStack
        self.layer = layer
        self.block = block
        self.module = module
        self.role = role
    }

    /// The module's path in the Hugging Face model, as PEFT's selectors match it.
    public var modulePath: String { "\(layerStack).\(layer).\(block).\(module)" }

    /// The name as current PEFT writes it.
    public var name: String { Self.prefix + modulePath + "." + role.suffix }

    /// Parses `base_model.model.<stack>.<i>.<block>.<module>.<role>[.default][.weight]`, `<stack>`
    /// one of `layerStacks`; nil for any other name. Works on UTF-8 slices: a server start parses
    /// every tensor name of every adapter folder.
    public init?(parsing name: String) {
        guard let stack = Self.layersPrefixes.indices.first(where: { name.hasPrefix(Self.layersPrefixes[$0]) }) else { return nil }
        let parts = name.utf8.dropFirst(Self.layersPrefixes[stack].utf8.count)
            .split(separator: UInt8(ascii: "."), maxSplits: 6, omittingEmptySubsequences: false)
        // <i>, <block>, <module>, <role>, then: [] | [default] | [weight] | [default, weight]
        guard parts.count >= 4, parts.count <= 6, let role = Role(rawValue: String(Substring(parts[3]))) else { return nil }
        let digits = parts[0]
        guard !digits.isEmpty, digits.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else { return nil }
        var rest = parts[4...]
        if rest.first?.elementsEqual("default".utf8) == true { rest = rest.dropFirst() }
        let expectsWeight = role != .ia3
        guard rest.count == (expectsWeight ? 1 : 0), !expectsWeight || rest.first!.elementsEqual("weight".utf8) else { return nil }
        self.init(layerStack: Self.layerStacks[stack], layer: Int(String(Substring(digits))) ?? Int.max, block: String(Substring(parts[1])),
                  module: String(Substring(parts[2])), role: role)
    }
}
