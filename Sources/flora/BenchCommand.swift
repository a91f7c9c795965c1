// `flora bench`: measurements on the machine at hand (DESIGN.md section 7).
import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Flora on this machine: serving throughput and latency per adapter method and rank, and the kernels.",
        discussion: """
            The serving benchmarks reproduce the fLoRA paper's analysis (throughput and latency against rank, every \
            request with its own adapter) against the base model and both LoRA kernels. Runs of all methods are \
            interleaved and figures are medians, because these machines are shared; ratios are taken against the base \
            model measured in the same block of runs.
            """,
        subcommands: [Throughput.self, Latency.self, Adapters.self, Kernels.self]
    )
}
