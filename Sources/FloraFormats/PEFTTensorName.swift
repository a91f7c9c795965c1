// Tensor names of PEFT adapter files, e.g. for the Llama family
// `base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight` (older PEFT versions keep the
// adapter name: `...q_proj.lora_A.default.weight`), `...mlp.down_proj.ia3_l`, DoRA's `...q_proj.lora_magnitude_vector`, RoAd's
// `...q_proj.road_theta` / `road_alpha`, and Flora's
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
        /// DoRA's magnitude `m`, `[d_out]`.
        case loraMagnitude = "lora_magnitude_vector"
        /// RoAd's angles and scales, 1-D.
        case roadTheta = "road_theta"
        case roadAlpha = "road_alpha"

        /// Whether current PEFT ends the name with `.weight` (vectors it keeps as bare parameters do not).
        var endsWithWeight: Bool {
            switch self {
            case .loraA, .loraB, .floraA, .floraB: true
            case .ia3, .loraMagnitude, .roadTheta, .roadAlpha: false
            }
        }

        /// The tensor name's ending after the module, as current PEFT writes it.
        public var suffix: String { endsWithWeight ? rawValue + ".weight" : rawValue }
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
    /// one of `layerStacks`; nil for any other name. Reads the UTF-8 bytes in place: a server
    /// start parses every tensor name of every adapter folder.
    public init?(parsing name: String) {
        var name = name
        guard let parsed = name.withUTF8(Self.parse) else { return nil }
        self = parsed
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> PEFTTensorName? {
        guard let stack = layersPrefixes.indices.first(where: { bytes.starts(with: layersPrefixes[$0].utf8) }) else { return nil }
        var at = layersPrefixes[stack].utf8.count
        /// The next dot-separated field (empty between two dots), nil past the last one.
        func field() -> UnsafeBufferPointer<UInt8>? {
            guard at <= bytes.count else { return nil }
            let start = at
            while at < bytes.count, bytes[at] != UInt8(ascii: ".") { at += 1 }
            defer { at += 1 }
            return UnsafeBufferPointer(rebasing: bytes[start ..< at])
        }
        guard let digits = field(), let block = field(), let module = field(), let roleName = field(),
              let role = Role.allCases.first(where: { $0.rawValue.utf8.elementsEqual(roleName) }),
              !digits.isEmpty, digits.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 })
        else { return nil }
        // Then: nothing | default | weight | default.weight, with weight exactly for A/B tensors.
        var next = field()
        if let rest = next, rest.elementsEqual("default".utf8) { next = field() }
        if role.endsWithWeight {
            guard let rest = next, rest.elementsEqual("weight".utf8) else { return nil }
            next = field()
        } else if role == .loraMagnitude, let rest = next, rest.elementsEqual("weight".utf8) {
            next = field()  // the module's own name for it, before PEFT's state dict drops ".weight"
        }
        guard next == nil else { return nil }
        var layer = 0
        for digit in digits {
            let (times10, overflow) = layer.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(Int(digit &- UInt8(ascii: "0")))
            guard !overflow, !carry else { layer = Int.max; break }
            layer = sum
        }
        return PEFTTensorName(
            layerStack: layerStacks[stack], layer: layer, block: String(decoding: block, as: UTF8.self),
            module: String(decoding: module, as: UTF8.self), role: role)
    }
}
