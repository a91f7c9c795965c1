// Products of quantized panels with int8-quantized activations, as llama.cpp computes its Q8 dot
// products: each row of the input is quantized per block of 32 values to int8 codes and one fp32
// scale, once per product, and each (block, output) is an exact integer dot product of codes,
// scaled in fp32. The integer products run on AVX-512 VNNI (4 int8 multiply-adds per 32-bit
// lane, in the C kernels of CFloraKernels); other CPUs keep the exact path.
//
// Per output, over k-blocks b in order (Int8Reference states it as a loop):
//
//     Q8_0:  acc = fma(Σ_p q_w[p] · q_x[p], d_w · d_x, acc)
//     Q4_1:  acc = fma(Σ_p q_w[p] · q_x[p], d_w · d_x, acc);  acc = fma(m_w, d_x · Σ_p q_x[p], acc)
//
// A row's codes and its summation order do not depend on the other rows of the call or on the
// tile that computed it, so continuous batching still cannot change a sequence's tokens.

import CFloraKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a product with quantized weights computes.
public enum QuantizedProducts: String, Sendable, CaseIterable {
    /// The weights are dequantized to their exact fp32 values inside the kernels, and the product
    /// is the fp32 product with the dequantized weight, bit for bit.
    case exact
    /// The activations are quantized to int8 per block of 32 (Q8_0 and Q4_1 weights, on CPUs with
    /// AVX-512 VNNI; anything else computes as `.exact`). Faster; logits move by about 1e-2.
    case int8
}

/// `FLORA_PRODUCTS` holds a value that names no mode.
public struct UnknownQuantizedProducts: Error, CustomStringConvertible {
    public let value: String
    public var description: String {
        "FLORA_PRODUCTS is '\(value)'; expected \(QuantizedProducts.allCases.map(\.rawValue).joined(separator: " or ")) (or unset)"
    }
}

/// What this CPU runs.
enum Int8Kernels {
    static let isSupported = flora_int8_supported() != 0
}

extension QuantizedProducts {
    /// `.int8`, unless the environment variable `FLORA_PRODUCTS` names another mode (the command
    /// line refuses a value it does not know, through `environmentChoice`, before anything loads).
    public static var processDefault: QuantizedProducts { (try? environmentChoice()) ?? .int8 }

    /// The mode `FLORA_PRODUCTS` names (`exact` or `int8`, any case), nil when it is unset or empty.
    public static func environmentChoice() throws(UnknownQuantizedProducts) -> QuantizedProducts? {
        try choice(getenv("FLORA_PRODUCTS").map { String(cString: $0) })
    }

    /// The mode `value` names (any case); nil for nil or empty.
    public static func choice(_ value: String?) throws(UnknownQuantizedProducts) -> QuantizedProducts? {
        guard let value, !value.isEmpty else { return nil }
        guard let products = QuantizedProducts(rawValue: value.lowercased()) else {
            throw UnknownQuantizedProducts(value: value)
        }
        return products
    }

    /// Whether `.int8` runs the int8 kernels on this CPU.
    public static var int8KernelsAvailable: Bool { Int8Kernels.isSupported }
}

/// Rows quantized for the int8 kernels, in this thread's weight scratch: per row, `inputs` codes,
/// and per block of 32 its scale and the sum of its codes.
struct Int8Rows {
    let codes: UnsafeMutablePointer<Int8>
    let scales: UnsafeMutablePointer<Float>
    let sums: UnsafeMutablePointer<Int32>
    let count: Int
    let inputs: Int

    private init(count: Int, inputs: Int) {
        let codeFloats = (count * inputs + 3) / 4
        let scratch = UnsafeMutableRawPointer(ThreadScratch.weightFloats(codeFloats + 2 * count * (inputs / 32)))
        codes = scratch.assumingMemoryBound(to: Int8.self)
        scales = (scratch + 4 * codeFloats).assumingMemoryBound(to: Float.self)
        sums = UnsafeMutableRawPointer(scales + count * (inputs / 32)).assumingMemoryBound(to: Int32.self)
        self.count = count
        self.inputs = inputs
    }

    /// Rows `0 ..< count` of `a` (`[count, lda]`, `inputs` used).
    init(quantizing a: UnsafePointer<Float>, lda: Int, count: Int, inputs: Int) {
        self.init(count: count, inputs: inputs)
        flora_quantize_rows_q8(a, lda, Int32(count), Int32(inputs), codes, scales, sums)
    }

    /// fLoRA's expanded rows: row e is `x[inputRow[e]] ∘ inputScale[e]` (no scale: the row itself),
    /// scaled inside the quantizer so that no fp32 copy of the rows is written.
    init(expanding x: UnsafePointer<Float>, inputRow: UnsafePointer<Int32>, inputScale: UnsafePointer<UnsafePointer<Float>?>, count: Int, inputs: Int) {
        self.init(count: count, inputs: inputs)
        let blocks = inputs / 32
        for e in 0..<count {
            flora_quantize_scaled_row_q8(
                x + Int(inputRow[e]) * inputs, inputScale[e], Int32(inputs), codes + e * inputs, scales + e * blocks, sums + e * blocks)
        }
    }
}

/// `sink ← rows · Wᵀ` over `panelRange` with the int8 kernels (`panels` is Q8_0 or Q4_1).
///
/// Each part of a parallel product quantizes its own rows (microseconds, against reading codes
/// another core has just written). Groups of 4 rows walk one panel at a time, in cache blocks of
/// rows whose codes stay in L2; the last 1–3 rows cover 4 / rows panels per tile, so every tile
/// keeps 8 independent integer sums in flight.
func computeInt8Panels<Sink: TileSink>(_ rows: Int8Rows, _ panels: QuantizedPanelSet, panelRange: Range<Int>, sink: Sink) {
    let m = rows.count, k = panels.inputs
    let n = panels.outputs
    let blocks = panels.blockCount
    let codes = rows.codes, scales = rows.scales, sums = rows.sums
    let q4_1 = panels.format == .q4_1
    let base = panels.base.assumingMemoryBound(to: UInt8.self)
    withUnsafeTemporaryAllocation(byteCount: 8 * 128 * MemoryLayout<Float>.stride, alignment: 64) { raw in
        let tile = raw.baseAddress!.bindMemory(to: Float.self, capacity: 8 * 128)
        func run(rows r: Int, panels np: Int, firstRow i: Int, panel q: Int) {
            let tiles = base + q * panels.panelBytes
            let rowCodes = codes + i * k, rowScales = scales + i * blocks, rowSums = sums + i * blocks
            if q4_1 {
                flora_q4_1_tile(Int32(r), Int32(np), tiles, panels.panelBytes, Int32(blocks), rowCodes, k, rowScales, rowSums, blocks, tile)
            } else {
                flora_q8_0_tile(Int32(r), Int32(np), tiles, panels.panelBytes, Int32(blocks), rowCodes, k, rowScales, rowSums, blocks, tile)
            }
            sink.write(tile, firstRow: i, rowCount: r, firstColumn: q * 32, width: min(np * 32, n - q * 32))
        }
        let fullRows = m / 4 * 4
        let blockRows = max(4, 128 * 1024 / max(k, 1) / 4 * 4)
        var blockStart = 0
        while blockStart < fullRows {
            let blockEnd = min(fullRows, blockStart + blockRows)
            for q in panelRange {
                var i = blockStart
                while i < blockEnd {
                    run(rows: 4, panels: 1, firstRow: i, panel: q)
                    i += 4
                }
            }
            blockStart = blockEnd
        }
        let remainder = m - fullRows
        guard remainder > 0 else { return }
        let group = 4 / remainder
        var q = panelRange.lowerBound
        while q < panelRange.upperBound {
            let np = min(group, panelRange.upperBound - q)
            run(rows: remainder, panels: np, firstRow: fullRows, panel: q)
            q += np
        }
    }
}
