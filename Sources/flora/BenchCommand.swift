// `flora bench`: measurements on the machine at hand (DESIGN.md section 7).
import ArgumentParser
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
            KernelBenchmark(quick: quick, parallelism: choice).run { print($0) }
        }
    }
}
