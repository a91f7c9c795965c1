// What an adapter adds to the work of one token, estimated from its config and shapes alone
// (DESIGN.md section 1's formulas; a multiply-add counts as 2 FLOPs), beside what the base
// model's adaptable linear layers cost: the number `flora adapter inspect` prints.

extension AdapterManifest {
    /// Extra FLOPs per token of one targeted module of `kind`, `d_in → d_out`, rank `r`:
    ///
    ///     fLoRA:  r − 1 more rows of the base product, 2 (r − 1) d_in d_out, plus the input and
    ///             output scalings of its r rows, r (d_in + d_out)
    ///     LoRA:   shrink and expand, 2 r (d_in + d_out)
    ///     DoRA:   LoRA's, plus the output scale m / n, d_out
    ///     IA3:    one scaling, d_in (feed-forward) or d_out
    ///     RoAd:   two products and a sum per output, 3 d_out
    public static func extraFlopsPerToken(kind: AdapterKind, rank r: Int, inputs k: Int, outputs n: Int, feedForward: Bool) -> Int {
        switch kind {
        case .flora: 2 * (r - 1) * k * n + r * (k + n)
        case .lora: 2 * r * (k + n)
        case .dora: 2 * r * (k + n) + n
        case .ia3: feedForward ? k : n
        case .road: 3 * n
        }
    }

    /// The adapter's extra FLOPs per token over every module it targets.
    public func extraFlopsPerToken(shapes: AdapterTargetShapes) -> Int {
        modules.reduce(0) { sum, m in
            sum + Self.extraFlopsPerToken(
                kind: kind, rank: m.rank, inputs: shapes.inputs(m.key.module), outputs: shapes.outputs(m.key.module), feedForward: m.feedForward)
        }
    }
}

extension AdapterTargetShapes {
    /// FLOPs per token of the model's adaptable linear layers, `2 Σ d_in d_out` over every layer
    /// and module (attention scores and the output head not included).
    public var linearFlopsPerToken: Int {
        layers * TargetModule.allCases.reduce(0) { $0 + 2 * inputs($1) * outputs($1) }
    }
}
