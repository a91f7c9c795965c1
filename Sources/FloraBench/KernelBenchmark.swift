// `flora bench kernels`: GFLOP/s of Flora's matrix-product kernels at the shapes of
// SmolLM2-135M (DESIGN.md section 9), beside the machine's measured FMA peak.
import Dispatch
import Foundation
import FloraTensor

/// Measures the packed matrix-product kernels and prints a table. Every figure is the median
/// of several repeats; each repeat runs the call until it has taken `minimumRepeatSeconds`.
public struct KernelBenchmark: Sendable {
    /// One linear layer shape of the model: `W` is `[outputs, inputs]`.
    public struct Shape: Sendable {
        public var name: String
        public var outputs: Int
        public var inputs: Int
        public init(name: String, outputs: Int, inputs: Int) {
            self.name = name
            self.outputs = outputs
            self.inputs = inputs
        }
    }

    /// SmolLM2-135M: hidden 576, KV 192, MLP 1536, vocabulary 49152.
    public static let modelShapes = [
        Shape(name: "q/o", outputs: 576, inputs: 576),
        Shape(name: "k/v", outputs: 192, inputs: 576),
        Shape(name: "gate/up", outputs: 1536, inputs: 576),
        Shape(name: "down", outputs: 576, inputs: 1536),
        Shape(name: "lm-head", outputs: 49152, inputs: 576),
    ]
    public static let rowCounts = [1, 8, 32, 128, 512]

    public var shapes: [Shape]
    public var rowCounts: [Int]
    public var repeats: Int
    public var minimumRepeatSeconds: Double
    public var parallelism: Parallelism
    /// How the weights are stored: `.f32` panels, or quantized panels (`PackedMatrix.quantizedFormats`:
    /// Q8_0, Q4_1 and the K-quants). K-quants need every shape's inputs in whole super-blocks
    /// of 256 (`shapes(_:inputsRoundedUpTo:)`).
    public var weightFormat: BlockFormat = .f32
    /// How products with quantized weights compute: `.exact` (dequantized fp32) or `.int8`
    /// (int8 activations and VNNI dot products, for Q8_0 and Q4_1 on CPUs that have them).
    public var products: QuantizedProducts = .exact

    /// What the products of this run execute, for the header.
    var arithmetic: String {
        guard weightFormat != .f32 else { return "fp32 FMA" }
        let int8 = products == .int8 && (weightFormat == .q8_0 || weightFormat == .q4_1) && QuantizedProducts.int8KernelsAvailable
        return int8 ? "int8 activations, VNNI dot products (figures are GOP/s: 2 per multiply-add)" : "weights dequantized to fp32 in the kernel, fp32 FMA"
    }

    /// `shapes` with every layer's inputs rounded up to a multiple of `multiple`, named with the
    /// new width when it changed (SmolLM2's 576 inputs become 768 for K-quants).
    public static func shapes(_ shapes: [Shape], inputsRoundedUpTo multiple: Int) -> [Shape] {
        shapes.map { shape in
            let inputs = (shape.inputs + multiple - 1) / multiple * multiple
            return inputs == shape.inputs ? shape : Shape(name: shape.name + "*", outputs: shape.outputs, inputs: inputs)
        }
    }

    /// `quick` keeps the whole run well under a minute on two cores.
    public init(quick: Bool, parallelism: Parallelism = .automatic) {
        shapes = Self.modelShapes
        rowCounts = Self.rowCounts
        repeats = quick ? 3 : 9
        minimumRepeatSeconds = quick ? 0.02 : 0.1
        self.parallelism = parallelism
    }

    /// Runs everything and hands each finished line to `print`; returns the FMA peak of all
    /// cores in GFLOP/s (the adapted-layer benchmark reports against it).
    @discardableResult
    public func run(print: (String) -> Void) -> Double {
        let cores = ParallelRegion.coreCount
        print("Flora kernels: \(weightFormat) weights, y = x·Wᵀ, packed 32-column panels, \(arithmetic), \(cores) cores, parallelism \(parallelism)")
        if shapes.contains(where: { $0.name.hasSuffix("*") }) {
            print("* inputs rounded up to whole blocks of the weight format (K-quants: super-blocks of 256).")
        }
        print("Medians of \(repeats) repeats. The machine may be shared: figures are depressed when others run.")
        let single = measurePeak(threads: 1)
        let all = measurePeak(threads: cores)
        print(String(format: "FMA peak (independent SIMD16 FMA chains): 1 core %.1f GFLOP/s, %d cores %.1f GFLOP/s", single, cores, all))
        if cores > 1 && all < 0.85 * Double(cores) * single {
            print("Warning: the cores did not scale (other work is running); the figures below are depressed.")
        }
        print("")
        var header = "layer     n×k        "
        for rows in rowCounts { header += pad("rows=\(rows)", 16) }
        header += pad("1-row GB/s", 12) + pad("read GB/s", 11)
        print(header + "   (GFLOP/s, and % of the FMA peak of all cores)")
        for shape in shapes {
            var line = pad(shape.name, 10, left: true) + pad("\(shape.outputs)×\(shape.inputs)", 11, left: true)
            var oneRowBandwidth: Double?
            for rows in rowCounts {
                let seconds = timeMultiply(shape: shape, rows: rows)
                let gflops = 2 * Double(rows * shape.outputs * shape.inputs) / seconds / 1e9
                line += pad(String(format: "%.1f (%.0f%%)", gflops, 100 * gflops / all), 16)
                if rows == 1 { oneRowBandwidth = Double(shape.outputs * shape.inputs) * bytesPerWeight / seconds / 1e9 }
            }
            line += pad(oneRowBandwidth.map { String(format: "%.1f", $0) } ?? "-", 12)
            line += pad(String(format: "%.1f", measureReadBandwidth(floats: shape.outputs * shape.inputs)), 11)
            print(line)
        }
        print("")
        print("fLoRA rank 1, fused (input and output scaled on every row) against the plain product:")
        for shape in shapes.prefix(4) {
            for rows in [32, 128] where rowCounts.contains(rows) {
                let plain = timeMultiply(shape: shape, rows: rows)
                let fused = timeExpanded(shape: shape, rows: rows)
                let gflops = 2 * Double(rows * shape.outputs * shape.inputs) / fused / 1e9
                print(pad(shape.name, 10, left: true) + pad("rows=\(rows)", 10, left: true)
                    + String(format: "%.1f GFLOP/s, %+.1f %% time", gflops, (fused / plain - 1) * 100))
            }
        }
        runOtherProducts(print: print)
        return all
    }

    /// The FMA peak of `threads` threads in GFLOP/s (independent SIMD16 FMA chains).
    public func peakGFLOPs(threads: Int = ParallelRegion.coreCount) -> Double { measurePeak(threads: threads) }

    /// The backward pass's `dx = dy · W` and LoRA-sized unpacked products.
    func runOtherProducts(print: (String) -> Void) {
        print("")
        print("Other products (GFLOP/s):")
        for shape in shapes.prefix(4) {
            for rows in [32, 128] where rowCounts.contains(rows) {
                let seconds = timeTransposed(shape: shape, rows: rows)
                let gflops = 2 * Double(rows * shape.outputs * shape.inputs) / seconds / 1e9
                print(pad("dx = dy·W", 14, left: true) + pad(shape.name, 10, left: true) + pad("rows=\(rows)", 10, left: true)
                    + String(format: "%.1f", gflops))
            }
        }
        for rank in [8, 64] {
            for rows in [32, 128] where rowCounts.contains(rows) {
                let shrink = timeUnpacked(rows: rows, outputs: rank, inputs: 576)
                let expand = timeUnpacked(rows: rows, outputs: 576, inputs: rank)
                let flops = 2 * Double(rows * rank * 576)
                print(pad("LoRA r=\(rank)", 14, left: true) + pad("576", 10, left: true) + pad("rows=\(rows)", 10, left: true)
                    + String(format: "shrink x·Aᵀ %.1f, expand h·Bᵀ %.1f", flops / shrink / 1e9, flops / expand / 1e9))
            }
        }
    }

    // MARK: Timing

    /// Median seconds per call of `body`.
    func median(_ body: () -> Void) -> Double {
        body()  // warm caches and thread pool
        var samples: [Double] = []
        for _ in 0..<repeats {
            var calls = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            repeat {
                body()
                calls += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            } while elapsed < minimumRepeatSeconds
            samples.append(elapsed / Double(calls))
        }
        samples.sort()
        return samples[samples.count / 2]
    }

    func timeMultiply(shape: Shape, rows: Int) -> Double {
        let w = randomPacked(shape)
        let x = Tensor(random: [rows, shape.inputs], seed: 2)
        let y = Tensor(zeros: [rows, shape.outputs])
        return median { MatMul.multiply(x.pointer, rows: rows, w, into: y.pointer, parallelism: parallelism) }
    }

    func timeExpanded(shape: Shape, rows: Int) -> Double {
        let w = randomPacked(shape)
        let x = Tensor(random: [rows, shape.inputs], seed: 2)
        let y = Tensor(zeros: [rows, shape.outputs])
        let a = Tensor(random: [shape.inputs], seed: 3)
        let b = Tensor(random: [shape.outputs], seed: 4)
        let inputRow = UnsafeMutablePointer<Int32>.allocate(capacity: rows)
        let outputRow = UnsafeMutablePointer<Int32>.allocate(capacity: rows)
        let inputScale = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: rows)
        let outputScale = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: rows)
        let factor = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        defer {
            inputRow.deallocate(); outputRow.deallocate(); inputScale.deallocate(); outputScale.deallocate(); factor.deallocate()
        }
        for e in 0..<rows {
            inputRow[e] = Int32(e)
            outputRow[e] = Int32(e)
            inputScale[e] = UnsafePointer(a.pointer)
            outputScale[e] = UnsafePointer(b.pointer)
            factor[e] = 1
        }
        let expansion = RowExpansion(
            count: rows, inputRow: inputRow, inputScale: inputScale, outputRow: outputRow, outputScale: outputScale, factor: factor)
        return median { MatMul.multiplyExpanded(x.pointer, expansion, w, into: y.pointer, parallelism: parallelism) }
    }

    func timeTransposed(shape: Shape, rows: Int) -> Double {
        let w = randomPacked(shape)
        let dy = Tensor(random: [rows, shape.outputs], seed: 2)
        let dx = Tensor(zeros: [rows, shape.inputs])
        return median { MatMul.multiplyTransposedWeight(dy.pointer, rows: rows, w, into: dx.pointer, parallelism: parallelism) }
    }

    func timeUnpacked(rows: Int, outputs: Int, inputs: Int) -> Double {
        let a = Tensor(random: [rows, inputs], seed: 5)
        let b = Tensor(random: [outputs, inputs], seed: 6)
        let c = Tensor(zeros: [rows, outputs])
        return median {
            MatMul.multiplyUnpacked(a.pointer, rows: rows, b.pointer, outputs: outputs, inputs: inputs, into: c.pointer, parallelism: parallelism)
        }
    }

    func randomWeight(_ shape: Shape) -> Tensor {
        Tensor(random: [shape.outputs, shape.inputs], seed: 1)
    }

    /// The random weight packed in `weightFormat` (fp32 panels when the inputs are not whole
    /// blocks of the format).
    func randomPacked(_ shape: Shape) -> PackedMatrix {
        let weight = randomWeight(shape)
        guard weightFormat != .f32,
              let packed = try? PackedMatrix(
                  quantizing: weight.pointer, outputs: shape.outputs, inputs: shape.inputs, format: weightFormat, products: products)
        else { return PackedMatrix(weight) }
        return packed
    }

    /// Bytes the 1-row product streams per weight: fp32, or a quantized tile's share.
    var bytesPerWeight: Double { PackedMatrix.bytesPerWeight(weightFormat) }

    // MARK: Peaks

    /// GB/s of summing `floats` floats split over the cores as the 1-row product splits W (serial
    /// when the product would be): what streaming the weight alone costs at this size.
    func measureReadBandwidth(floats: Int) -> Double {
        let buffer = FloatBuffer(count: floats)
        let parts = ParallelRegion.parts(
            for: parallelism, flops: 2 * floats, maximumParts: floats / 16)
        let base = SendablePointer(buffer.pointer)
        let seconds = median {
            ParallelRegion.run(parts: parts) { part in
                let start = part * floats / parts / 16 * 16
                let end = part == parts - 1 ? floats : (part + 1) * floats / parts / 16 * 16
                _ = sumFloats(base.pointer + start, count: end - start)
            }
        }
        return Double(floats * 4) / seconds / 1e9
    }

    /// GFLOP/s of 16 independent SIMD16 FMA chains per thread on `threads` threads: the most
    /// the two FMA pipes of a core can do, with nothing loaded from memory.
    func measurePeak(threads: Int) -> Double {
        let iterations = 2_000_000
        let seconds = median {
            ParallelRegion.run(parts: threads) { part in
                _ = fmaChains(iterations: iterations, seed: Float(part + 1))
            }
        }
        return Double(threads) * Double(iterations) * 16 * 32 / seconds / 1e9
    }
}

/// 16 independent FMA chains; the result is returned so that the work cannot be dropped.
@inline(never)
func fmaChains(iterations: Int, seed: Float) -> Float {
    let m = SIMD16<Float>(repeating: 0.999_999)
    let c = SIMD16<Float>(repeating: seed * 1e-7)
    var a0 = SIMD16<Float>(repeating: seed), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3
    var a4 = a0 + 4, a5 = a0 + 5, a6 = a0 + 6, a7 = a0 + 7
    var a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11
    var a12 = a0 + 12, a13 = a0 + 13, a14 = a0 + 14, a15 = a0 + 15
    for _ in 0..<iterations {
        a0 = c.addingProduct(a0, m); a1 = c.addingProduct(a1, m); a2 = c.addingProduct(a2, m); a3 = c.addingProduct(a3, m)
        a4 = c.addingProduct(a4, m); a5 = c.addingProduct(a5, m); a6 = c.addingProduct(a6, m); a7 = c.addingProduct(a7, m)
        a8 = c.addingProduct(a8, m); a9 = c.addingProduct(a9, m); a10 = c.addingProduct(a10, m); a11 = c.addingProduct(a11, m)
        a12 = c.addingProduct(a12, m); a13 = c.addingProduct(a13, m); a14 = c.addingProduct(a14, m); a15 = c.addingProduct(a15, m)
    }
    let sum = (a0 + a1 + a2 + a3) + (a4 + a5 + a6 + a7) + (a8 + a9 + a10 + a11) + (a12 + a13 + a14 + a15)
    return sum.sum()
}

/// Sum of `count` floats with 8 independent SIMD16 accumulators (the tail is ignored).
@inline(never)
func sumFloats(_ pointer: UnsafeMutablePointer<Float>, count: Int) -> Float {
    var s0 = SIMD16<Float>(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0
    var offset = 0
    while offset + 128 <= count {
        let p = pointer + offset
        s0 += loadAligned16(p)
        s1 += loadAligned16(p + 16)
        s2 += loadAligned16(p + 32)
        s3 += loadAligned16(p + 48)
        s4 += loadAligned16(p + 64)
        s5 += loadAligned16(p + 80)
        s6 += loadAligned16(p + 96)
        s7 += loadAligned16(p + 112)
        offset += 128
    }
    return ((s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7)).sum()
}

func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return left ? text + fill : fill + text
}

extension Tensor {
    /// Uniform values in [-1, 1) from a fixed seed (xorshift), for benchmark inputs.
    init(random shape: [Int], seed: UInt64) {
        self.init(zeros: shape)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        for index in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            pointer[index] = Float(state >> 40) / Float(1 << 23) - 1
        }
    }
}
