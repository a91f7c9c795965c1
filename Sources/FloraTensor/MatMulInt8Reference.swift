// The naive twin of the int8 kernels (MatMulInt8.swift and CFloraKernels): the same arithmetic as
// plain loops over ggml's row-major blocks, for tests. It reads the blocks, not the panels, so a
// test against it also checks how the kernels regather the panels' codes.

public enum Int8Reference {
    /// `y = x · Wᵀ` as `QuantizedProducts.int8` computes it. `blocks` is W `[outputs, inputs]` as
    /// ggml's `format` blocks, row-major (`format` is `.q8_0` or `.q4_1`); `x` is `[rows, inputs]`.
    public static func multiply(
        _ x: UnsafePointer<Float>, rows: Int, blocks: UnsafeRawPointer, format: BlockFormat, outputs: Int, inputs: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        precondition(format == .q8_0 || format == .q4_1, "Int8Reference.multiply reads Q8_0 or Q4_1 blocks, got \(format)")
        precondition(inputs % 32 == 0, "Int8Reference.multiply needs whole blocks of 32 inputs, got \(inputs)")
        let blockCount = inputs / 32
        var codes = [Int8](repeating: 0, count: 32)
        for i in 0..<rows {
            // The row's codes, scales and code sums per block, as flora_quantize_rows_q8 makes them.
            var rowCodes = [Int8](), scales = [Float](), sums = [Int32]()
            for b in 0..<blockCount {
                let values = x + i * inputs + 32 * b
                var amax: Float = 0
                for p in 0..<32 { amax = max(amax, abs(values[p])) }
                let d = amax / 127
                let inverse: Float = d != 0 ? 1 / d : 0
                var sum: Int32 = 0
                for p in 0..<32 {
                    let q = Int32((values[p] * inverse).rounded(.toNearestOrEven))
                    codes[p] = Int8(clamping: q)
                    sum += Int32(codes[p])
                }
                rowCodes += codes
                scales.append(d)
                sums.append(sum)
            }
            for j in 0..<outputs {
                var acc: Float = 0
                for b in 0..<blockCount {
                    let block = blocks + (j * blockCount + b) * format.bytesPerBlock
                    let dw = BlockFormat.half(block, 0)
                    var dot: Int32 = 0
                    for p in 0..<32 {
                        let w: Int32
                        if format == .q8_0 {
                            w = Int32(block.load(fromByteOffset: 2 + p, as: Int8.self))
                        } else {
                            let byte = block.load(fromByteOffset: 4 + p % 16, as: UInt8.self)
                            w = Int32(p < 16 ? byte & 0x0F : byte >> 4)
                        }
                        dot += w * Int32(rowCodes[32 * b + p])
                    }
                    acc.addProduct(Float(dot), dw * scales[b])  // fused, as the kernels' fma; |dot| < 2²⁴ is exact
                    if format == .q4_1 {
                        acc.addProduct(BlockFormat.half(block, 2), scales[b] * Float(sums[b]))
                    }
                }
                y[i * outputs + j] = acc
            }
        }
    }
}
