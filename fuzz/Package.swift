// swift-tools-version: 6.0
// The libFuzzer executables (docs/reliability.md), one per FuzzTarget, in a package of their own
// so that the sanitizer flags never reach the main package's build. Built and run by
// scripts/fuzz.sh (`make fuzz`):
//     swift build -c release --sanitize fuzzer --sanitize address -Xswiftc -sanitize=fuzzer,address
// Each executable has no main of its own: libFuzzer's main calls LLVMFuzzerTestOneInput.
import PackageDescription

let package = Package(
    name: "FloraFuzzers",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Flora", path: "..")],
    targets: [
        .executableTarget(name: "fuzz-gguf", dependencies: [.product(name: "FloraFuzzing", package: "Flora")]),
        .executableTarget(name: "fuzz-safetensors", dependencies: [.product(name: "FloraFuzzing", package: "Flora")]),
        .executableTarget(name: "fuzz-peft-adapter", dependencies: [.product(name: "FloraFuzzing", package: "Flora")]),
        .executableTarget(name: "fuzz-tokenizer-json", dependencies: [.product(name: "FloraFuzzing", package: "Flora")]),
        .executableTarget(name: "fuzz-chat-template", dependencies: [.product(name: "FloraFuzzing", package: "Flora")]),
        .executableTarget(name: "fuzz-openai-request", dependencies: [.product(name: "FloraRequestFuzzing", package: "Flora")]),
        .executableTarget(name: "fuzz-text", dependencies: [.product(name: "FloraFuzzing", package: "Flora")]),
    ]
)
