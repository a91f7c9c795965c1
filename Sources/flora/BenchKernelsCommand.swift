import ArgumentParser
import FloraBench
import FloraTensor
import Foundation

extension Bench {
    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kernels",
            abstract: "GFLOP/s of the matrix-product kernels (fp32, quantized, int8) at SmolLM2-135M's shapes, and of one adapted layer per method and rank, beside the measured FMA peak."
        )

        @Flag(help: "Fewer and shorter repeats: the whole run takes about a minute.")
        var quick = false

        @Option(help: "Threads per product: 'automatic' (split large products over all cores), 'serial', or a number.")
        var parallelism = "automatic"

        @Option(help: "Comma-separated row counts to measure (default 1,8,32,128,512).")
        var rows: String?

        @Option(help: "Comma-separated layers to measure: q/o, k/v, gate/up, down, lm-head (default all).")
        var layers: String?

        @Option(help: "Weight storage of the products: f32 (default), q8_0, q4_1, q2_k, q3_k, q4_k, q5_k or q6_k (quantized panels, dequantized inside the kernel).")
        var weights = "f32"

        @Option(help: "Quantized products: int8 (activations quantized per block of 32, VNNI dot products; Q8_0 and Q4_1 on CPUs with AVX-512 VNNI) or exact (default: weights dequantized to fp32 in the kernel).")
        var products = "exact"

        @Option(help: "Round every layer's inputs up to a multiple of this (default: the weight format's block, so 256 for K-quants and SmolLM2's 576 becomes 768; give 256 with another format to compare on the same shapes).")
        var inputsMultiple: Int?

        @Option(help: "What to measure: products, adapted, or both (products,adapted).")
        var sections: String = "products,adapted"

        @Option(help: "Adapted layer: comma-separated widths of square layers (default 576,4096,6144; --quick 576,4096).")
        var widths: String?

        @Option(help: "Adapted layer: comma-separated ranks (default 1,2,4,8,16,32,64; --quick 1,4,16,64).")
        var ranks: String?

        @Option(help: "Adapted layer: comma-separated methods (default all).")
        var methods: String?

        @Option(help: "Adapted layer: tokens in the batch, each with its own adapter.")
        var tokens: Int = 32

        @Option(help: "Adapted layer: write the results as CSV to this file.")
        var csv: String?

        @Option(help: "Adapted layer: plot tokens/s against rank for the widest layer into this SVG file.")
        var plot: String?

        func run() throws {
            let parts = Set(sections.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            guard !parts.isEmpty, parts.isSubset(of: ["products", "adapted"]) else {
                throw ValidationError("--sections must list products and/or adapted, got '\(sections)'")
            }
            let products = try productBenchmark()
            let peak: Double
            if parts.contains("products") {
                peak = products.run { print($0) }
            } else {
                peak = products.peakGFLOPs()
                print(String(format: "FMA peak, %d cores: %.1f GFLOP/s", ParallelRegion.coreCount, peak))
            }
            guard parts.contains("adapted") else { return }
            let layer = try adaptedBenchmark()
            print("")
            print("One adapted layer through AdapterBank.linear, \(layer.tokens) tokens, each with its own adapter "
                + "(base GFLOP/s counts only the base product's flops; medians of \(layer.repeats) interleaved repeats; ratio = base time ÷ method time):")
            let bar = ProgressBar(title: "adapted layer")
            let rows = try layer.run(peakGFLOPs: peak) { bar.update($0) }
            bar.finish()
            print(AdaptedLayerBenchmark.table(rows).text())
            if let csv {
                try BenchServingOptions.writeFile(AdaptedLayerBenchmark.table(rows).csv, to: csv, what: "--csv")
                print("wrote \(csv)")
            }
            if let plot, let widest = layer.shapes.max(by: { $0.outputs * $0.inputs < $1.outputs * $1.inputs }) {
                try BenchServingOptions.writeFile(AdaptedLayerBenchmark.plot(rows, layer: widest.name).svg, to: plot, what: "--plot")
                print("wrote \(plot)")
            }
        }

        private func productBenchmark() throws -> KernelBenchmark {
            let choice: Parallelism
            switch parallelism {
            case "automatic": choice = .automatic
            case "serial": choice = .serial
            default:
                guard let parts = Int(parallelism), parts > 0 else {
                    throw ValidationError("--parallelism must be 'automatic', 'serial' or a positive number, got '\(parallelism)'")
                }
                choice = .parts(parts)
            }
            var benchmark = KernelBenchmark(quick: quick, parallelism: choice)
            let formats = [BlockFormat.f32] + PackedMatrix.quantizedFormats
            guard let format = formats.first(where: { $0.rawValue.lowercased() == weights.lowercased() }) else {
                throw ValidationError("--weights must be one of \(formats.map { $0.rawValue.lowercased() }.joined(separator: ", ")), got '\(weights)'")
            }
            benchmark.weightFormat = format
            guard let arithmetic = QuantizedProducts(rawValue: products.lowercased()) else {
                throw ValidationError("--products must be exact or int8, got '\(products)'")
            }
            benchmark.products = arithmetic
            if let rows { benchmark.rowCounts = try parsePositiveIntegers(rows, option: "--rows") }
            if let layers {
                let names = layers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let known = KernelBenchmark.modelShapes.map(\.name)
                if let unknown = names.first(where: { !known.contains($0) }) {
                    throw ValidationError("--layers: unknown layer '\(unknown)', expected some of \(known.joined(separator: ", "))")
                }
                benchmark.shapes = KernelBenchmark.modelShapes.filter { names.contains($0.name) }
            }
            let multiple = inputsMultiple ?? format.elementsPerBlock
            guard multiple >= 1, multiple % format.elementsPerBlock == 0 else {
                throw ValidationError("--inputs-multiple must be a positive multiple of \(format.elementsPerBlock) for \(weights) weights, got \(multiple)")
            }
            benchmark.shapes = KernelBenchmark.shapes(benchmark.shapes, inputsRoundedUpTo: multiple)
            return benchmark
        }

        private func adaptedBenchmark() throws -> AdaptedLayerBenchmark {
            var benchmark = AdaptedLayerBenchmark(quick: quick)
            if let widths {
                let known = Dictionary(AdaptedLayerBenchmark.defaultShapes.map { ($0.outputs, $0) }) { a, _ in a }
                benchmark.shapes = try parsePositiveIntegers(widths, option: "--widths").map {
                    known[$0] ?? KernelBenchmark.Shape(name: "\($0)", outputs: $0, inputs: $0)
                }
            }
            if let ranks { benchmark.ranks = try parsePositiveIntegers(ranks, option: "--ranks") }
            if let methods { benchmark.methods = try BenchMethod.list(methods) }
            guard tokens >= 1 else { throw ValidationError("--tokens must be at least 1, got \(tokens)") }
            benchmark.tokens = tokens
            return benchmark
        }
    }
}
