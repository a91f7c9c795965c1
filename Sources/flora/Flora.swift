import ArgumentParser

@main
struct Flora: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flora",
        abstract: "Serve one language model with many per-request low-rank adapters (fLoRA, LoRA, IA3).",
        subcommands: [Generate.self, Tokenize.self, Adapter.self, Serve.self, Train.self, Eval.self, Bench.self]
    )
}
