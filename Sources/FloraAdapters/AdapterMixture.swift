// A weighted combination of adapters, built as one adapter of the same kind, so that a request
// with a mixture runs in the batch's single product like any other (docs/api.md, "Adapter
// mixtures"). With weights w_k and the identity (the unchanged layer) taking what is left,
// c = 1 − Σ_k w_k, each (layer, module) becomes:
//
//     LoRA:   ΔW = Σ_k w_k s_k B_k A_k                 LoRA of rank Σ r_k, A stacked, B scaled
//     fLoRA:  W ∘ (Σ_k w_k B_k A_k / r_k + c · 1)      fLoRA of rank Σ r_k (+1 for c ≠ 0)
//     IA3:    l = Σ_k w_k l_k + c · 1                  IA3
//
// An adapter that leaves a module unchanged is the identity there (LoRA: ΔW = 0; fLoRA and IA3:
// all ones), so a single adapter with weight s is `s` of the way from the base model to it:
// LoRA's delta times s, fLoRA's and IA3's factors interpolated with ones. Kinds are not mixed:
// fLoRA with LoRA would need two products for one group, and IA3 scales the bias where fLoRA
// does not, so neither has a single-product form.

import FloraTensor

/// The adapters of one request and their weights, in a canonical order.
public struct AdapterMixture: Sendable, Hashable {
    public struct Part: Sendable, Hashable {
        public var name: String
        public var weight: Float
        public init(name: String, weight: Float) {
            self.name = name
            self.weight = weight
        }
    }

    /// By name, each name once.
    public let parts: [Part]

    public static let maxParts = 8

    /// Checks the parts: 1 to `maxParts`, distinct non-empty names, finite weights.
    public init(_ parts: [Part]) throws {
        guard (1...Self.maxParts).contains(parts.count) else {
            throw AdapterError.invalidArgument(what: "adapter mixture", expected: "1 to \(Self.maxParts) adapters", found: "\(parts.count)")
        }
        for part in parts {
            guard !part.name.isEmpty else {
                throw AdapterError.invalidArgument(what: "adapter mixture", expected: "a name for every adapter", found: "an empty name")
            }
            guard part.weight.isFinite else {
                throw AdapterError.invalidArgument(what: "weight of '\(part.name)'", expected: "a finite number", found: "\(part.weight)")
            }
        }
        let sorted = parts.sorted { $0.name < $1.name }
        if let twice = zip(sorted, sorted.dropFirst()).first(where: { $0.name == $1.name }) {
            throw AdapterError.invalidArgument(what: "adapter mixture", expected: "each adapter once", found: "'\(twice.0.name)' twice")
        }
        self.parts = sorted
    }

    /// The name the engine serves the mixture under, `a*0.7+b*0.3`: `*` is in no adapter name
    /// the server accepts, and equal mixtures get equal names (their KV blocks are shared).
    public var name: String { parts.map { "\($0.name)*\($0.weight)" }.joined(separator: "+") }
}

extension AdapterWeights {
    /// The mixture of `parts` (each adapter with its weight) as one adapter named `name`;
    /// semantics in this file's header. Throws for mixed kinds, adapters of other models, and
    /// IA3 adapters that disagree on whether a module scales its input or its output.
    public static func mixing(_ parts: [(adapter: AdapterWeights, weight: Float)], name: String) throws -> AdapterWeights {
        guard let first = parts.first?.adapter else {
            throw AdapterError.invalidArgument(what: "adapter mixture '\(name)'", expected: "at least one adapter", found: "none")
        }
        guard first.kind != .dora, first.kind != .road else {
            throw AdapterError.invalidArgument(
                what: "adapter mixture '\(name)'", expected: "fLoRA, LoRA or IA3 adapters (mixtures of \(first.kind.rawValue) adapters are not supported)",
                found: "'\(first.name)' of kind \(first.kind.rawValue)")
        }
        let shapes = first.shapes
        for (adapter, _) in parts {
            try adapter.refuseVocabularyModules(for: "mixtures")
            guard adapter.kind == first.kind else {
                throw AdapterError.invalidArgument(
                    what: "adapter mixture '\(name)'", expected: "adapters of one kind (\(first.kind.rawValue) like '\(first.name)')",
                    found: "'\(adapter.name)' of kind \(adapter.kind.rawValue)")
            }
            guard adapter.shapes == shapes else {
                throw AdapterError.shapeMismatch(adapter: adapter.name, expected: "\(shapes)", found: "\(adapter.shapes)")
            }
        }
        var modules: [AdapterModuleKey: AdapterModuleWeights] = [:]
        for layer in 0..<shapes.layers {
            for module in TargetModule.allCases where shapes.has(module) {
                let present = parts.compactMap { part in part.adapter.module(layer: layer, module).map { (part, $0) } }
                guard !present.isEmpty else { continue }
                let identity = 1 - present.reduce(Float(0)) { $0 + $1.0.weight }
                let key = AdapterModuleKey(layer: layer, module: module)
                let (k, n) = (shapes.inputs(module), shapes.outputs(module))
                modules[key] = try mixedModule(present.map { ($0.1, $0.0.weight) }, identity: identity, inputs: k, outputs: n, place: "layer \(layer) \(module.rawValue) of '\(name)'")
            }
        }
        let rank = modules.values.map(\.rank).max() ?? 1
        return try AdapterWeights(
            name: name, kind: first.kind, rank: rank, shapes: shapes, modules: modules,
            loraAlpha: first.kind == .lora ? Float(rank) : nil)
    }

    /// One module of the mixture from the parts that change it; `identity` is the weight left
    /// to the unchanged layer.
    private static func mixedModule(
        _ present: [(module: AdapterModuleWeights, weight: Float)], identity: Float, inputs k: Int, outputs n: Int, place: String
    ) throws -> AdapterModuleWeights {
        switch present[0].module {
        case .lora:
            let factors = present.compactMap { part -> (LoRAFactors, Float)? in
                if case .lora(let f) = part.module { (f, part.weight) } else { nil }
            }
            let rank = factors.reduce(0) { $0 + $1.0.rank }
            var a: [Float] = [], b = [Float](repeating: 0, count: n * rank)
            var column = 0
            for (f, weight) in factors {
                a += f.a.toArray()
                let bT = f.bTransposed.pointer, scale = weight * f.scale
                for j in 0..<f.rank {
                    for o in 0..<n { b[o * rank + column] = scale * bT[j * n + o] }
                    column += 1
                }
            }
            return .lora(try LoRAFactors(rank: rank, inputs: k, outputs: n, a: a, b: b, alpha: Float(rank), useRSLoRA: false))
        case .flora:
            let factors = present.compactMap { part -> (FloraFactors, Float)? in
                if case .flora(let f) = part.module { (f, part.weight) } else { nil }
            }
            let rank = factors.reduce(0) { $0 + $1.0.rank } + (identity == 0 ? 0 : 1)
            var a: [Float] = [], b = [Float](repeating: 0, count: n * rank)
            var column = 0
            // Row j of the mixture is divided by its rank, not by the part's: B carries R / r_k.
            func addRow(_ bColumn: (Int) -> Float) {
                for o in 0..<n { b[o * rank + column] = bColumn(o) }
                column += 1
            }
            for (f, weight) in factors {
                a += f.a.toArray()
                let bT = f.bTransposed.pointer, scale = weight * Float(rank) / Float(f.rank)
                for j in 0..<f.rank { addRow { o in scale * bT[j * n + o] } }
            }
            if identity != 0 {
                a += [Float](repeating: 1, count: k)
                addRow { _ in identity * Float(rank) }
            }
            return .flora(try FloraFactors(rank: rank, inputs: k, outputs: n, a: a, b: b))
        case .ia3(let firstVector):
            var l = [Float](repeating: identity, count: firstVector.l.count)
            for (module, weight) in present {
                guard case .ia3(let v) = module, v.feedForward == firstVector.feedForward else {
                    throw AdapterError.invalidArgument(
                        what: "IA3 mixture at \(place)", expected: "every adapter scaling the module's \(firstVector.feedForward ? "input" : "output")",
                        found: "one scaling its \(firstVector.feedForward ? "output" : "input")")
                }
                for i in 0..<l.count { l[i] += weight * v.l.pointer[i] }
            }
            return .ia3(try IA3Vector(inputs: k, outputs: n, feedForward: firstVector.feedForward, l: l))
        case .dora, .road:
            throw AdapterError.invalidArgument(what: "mixture at \(place)", expected: "fLoRA, LoRA or IA3 modules", found: "\(present[0].module.kind.rawValue) modules")
        }
    }
}
