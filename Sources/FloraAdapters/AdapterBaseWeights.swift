// The base model's weights, as an adapter that depends on them needs at load: DoRA's norm
// `‖W + s·B A‖` per output row (DESIGN.md section 1). A protocol here so that FloraAdapters does not
// import FloraModel; the models implement it.

import FloraTensor

/// Read access to the base model's adaptable linear weights.
public protocol AdapterBaseWeights: Sendable {
    /// `W` of (layer, module) in fp32, `[outputs, inputs]` row-major (Hugging Face's layout,
    /// quantized weights dequantized); nil when the model has no such layer.
    func adapterBaseWeight(layer: Int, module: TargetModule) -> Tensor?
}
