// `flora bench`: measurements on the machine at hand (DESIGN.md section 7).
import ArgumentParser
import Foundation
import FloraBench
import FloraTensor

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Flora on this machine.",
        subcommands: [Kernels.self]
    )

    struct Kernels: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kernels",
            abstract: "GFLOP/s of the fp32 matrix-product kernels at SmolLM2-135M's shapes, beside the measured FMA peak."
        )

        @Flag(help: "Fewer and shorter repeats: the whole run takes well under a minute.")
        var quick = false

        @Option(help: "Threads per product: 'automatic' (split large products over all cores), 'serial', or a number.")
        var parallelism = "automatic"

        @Option(help: "Comma-separated row counts to measure (default 1,8,32,128,512).")
        var rows: String?

        @Option(help: "Comma-separated layers to measure: q/o, k/v, gate/up, down, lm-head (default all).")
        var layers: String?

        func run() throws {
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
            if let rows {
                let counts = rows.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !counts.isEmpty, counts.allSatisfy({ $0 > 0 }) else {
                    throw ValidationError("--rows must list positive integers separated by commas, got '\(rows)'")
                }
                benchmark.rowCounts = counts
            }
            if let layers {
                let names = layers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let known = KernelBenchmark.modelShapes.map(\.name)
                if let unknown = names.first(where: { !known.contains($0) }) {
                    throw ValidationError("--layers: unknown layer '\(unknown)', expected some of \(known.joined(separator: ", "))")
                }
                benchmark.shapes = KernelBenchmark.modelShapes.filter { names.contains($0.name) }
            }
            benchmark.run { print($0) }
        }
    }
}
