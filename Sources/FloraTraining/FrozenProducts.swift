// The products with frozen base weights that the backward pass needs beyond the forward ones:
// dx = dy · W for every linear layer and for the LM head.
//
// Measured on SmolLM2-135M (2048-token minibatches, 2 shared cores): FloraTensor's
// `multiplyTransposedWeight`, which reads W's forward panels in place, took ~40 % of a training
// step, several times the forward product's time per flop. Packing Wᵀ once as a weight of its own
// lets the backward use the forward kernel, at the cost of a second copy of the weights.

import FloraModel
import FloraTensor

/// Wᵀ of every linear layer and of the LM head, packed for `MatMul.multiply`, built on first use.
final class TransposedWeights {
    private var table: [ObjectIdentifier: PackedMatrix] = [:]

    /// Packs Wᵀ of all of `model`'s frozen products (once).
    func prepare(_ model: TrainableModel) {
        guard table.isEmpty else { return }
        for w in model.frozenProducts where table[ObjectIdentifier(w)] == nil {
            table[ObjectIdentifier(w)] = Self.transpose(w)
        }
    }

    func of(_ w: PackedMatrix) -> PackedMatrix? { table[ObjectIdentifier(w)] }

    /// Wᵀ `[inputs, outputs]` packed as a weight of `inputs` outputs.
    static func transpose(_ w: PackedMatrix) -> PackedMatrix {
        let rowMajor = w.unpacked()  // [outputs, inputs]
        let n = w.outputs, k = w.inputs
        return PackedMatrix(outputs: k, inputs: n) { firstRow, rowCount, destination in
            for r in 0..<rowCount {
                let target = destination + r * n
                for j in 0..<n { target[j] = rowMajor.pointer[j * k + firstRow + r] }
            }
        }
    }
}

enum FrozenProducts {
    /// `dx = dy · W` (the input gradient of `y = x Wᵀ`): `dy` `[rows, W.outputs]`, `dx`
    /// `[rows, W.inputs]`, overwritten. As a plain loop:
    ///
    ///     for i in 0..<rows, p in 0..<k { dx[i·k + p] = Σ_j dy[i·n + j] · W[j, p] }
    ///
    /// With `transposed` (Wᵀ packed) the forward kernel runs; without, `multiplyTransposedWeight`.
    @inline(__always)
    static func inputGradient(
        _ dy: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, transposed: PackedMatrix?, into dx: UnsafeMutablePointer<Float>
    ) {
        if let transposed {
            MatMul.multiply(dy, rows: rows, transposed, into: dx)
        } else {
            MatMul.multiplyTransposedWeight(dy, rows: rows, w, into: dx)
        }
    }
}
