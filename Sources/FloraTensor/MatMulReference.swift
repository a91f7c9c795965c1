// Naive references of the kernels in MatMul, for tests: the plain loops their doc comments
// state, accumulated in Double, on unpacked row-major weights.

public enum MatMulReference {
    /// `y[i, j] = Σ_p x[i, p] · weight[j, p]`; `weight` is `[outputs, inputs]`.
    public static func multiply(
        _ x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>, outputs: Int, inputs: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<rows {
            for j in 0..<outputs {
                var sum = 0.0
                for p in 0..<inputs { sum += Double(x[i * inputs + p]) * Double(weight[j * inputs + p]) }
                y[i * outputs + j] = Float(sum)
            }
        }
    }

    /// `y[outputRow[e], j] += factor[e] · outputScale[e][j] · Σ_p x[inputRow[e], p] · inputScale[e][p] · weight[j, p]`.
    public static func multiplyExpanded(
        _ x: UnsafePointer<Float>, _ rows: RowExpansion, weight: UnsafePointer<Float>, outputs: Int, inputs: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        for e in 0..<rows.count {
            let source = x + Int(rows.inputRow[e]) * inputs
            let target = y + Int(rows.outputRow[e]) * outputs
            for j in 0..<outputs {
                var sum = 0.0
                for p in 0..<inputs {
                    let scale = rows.inputScale[e].map { Double($0[p]) } ?? 1
                    sum += Double(source[p]) * scale * Double(weight[j * inputs + p])
                }
                let outScale = rows.outputScale[e].map { Double($0[j]) } ?? 1
                target[j] = Float(Double(target[j]) + Double(rows.factor[e]) * outScale * sum)
            }
        }
    }

    /// `dx[i, p] = Σ_j dy[i, j] · weight[j, p]`; `dy` is `[rows, outputs]`, `dx` is `[rows, inputs]`.
    public static func multiplyTransposedWeight(
        _ dy: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>, outputs: Int, inputs: Int,
        into dx: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<rows {
            for p in 0..<inputs {
                var sum = 0.0
                for j in 0..<outputs { sum += Double(dy[i * outputs + j]) * Double(weight[j * inputs + p]) }
                dx[i * inputs + p] = Float(sum)
            }
        }
    }

    /// `c[i, j] = Σ_p a[i, p] · b[j, p]`: the same loop as `multiply`, named for its use.
    public static func multiplyUnpacked(
        _ a: UnsafePointer<Float>, rows: Int, _ b: UnsafePointer<Float>, outputs: Int, inputs: Int,
        into c: UnsafeMutablePointer<Float>
    ) {
        multiply(a, rows: rows, weight: b, outputs: outputs, inputs: inputs, into: c)
    }
}
