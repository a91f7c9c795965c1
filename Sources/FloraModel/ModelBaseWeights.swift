// The models' adaptable linear weights in Hugging Face's layout, for adapters whose loading needs
// them (DoRA's norm ‖W + s·B A‖, DESIGN.md section 1). Unpacked on demand: a copy per call, made
// once per adapter load, never on the step loop.

import FloraAdapters
import FloraTensor

extension LlamaModel {
    public func adapterBaseWeight(layer: Int, module: TargetModule) -> Tensor? {
        guard layers.indices.contains(layer), TargetModule.llama.contains(module) else { return nil }
        return layers[layer].linear(module).unpacked()
    }
}

extension GPTBigCodeModel {
    public func adapterBaseWeight(layer: Int, module: TargetModule) -> Tensor? {
        guard layers.indices.contains(layer) else { return nil }
        let block = layers[layer]
        return switch module {
        case .cAttn: block.fusedQKV.unpacked()
        case .attnCProj: block.output.unpacked()
        case .cFc: block.fc.unpacked()
        case .mlpCProj: block.projection.unpacked()
        default: nil
        }
    }
}
