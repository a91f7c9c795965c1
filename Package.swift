// swift-tools-version: 6.0
// Flora: one base language model, many per-request low-rank adapters in one batch.
// Targets are layered (DESIGN.md section 3); a target depends only on layers below it.
import PackageDescription

let package = Package(
    name: "Flora",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "flora", targets: ["flora"]),
        // Flora as a library (docs/library.md): a product per layer, so that a program takes only
        // what it uses; FloraEngine alone serves requests, FloraServer adds the HTTP API.
        .library(name: "FloraTensor", targets: ["FloraTensor"]),
        .library(name: "FloraFormats", targets: ["FloraFormats"]),
        .library(name: "FloraTokenizer", targets: ["FloraTokenizer"]),
        .library(name: "FloraAdapters", targets: ["FloraAdapters"]),
        .library(name: "FloraModel", targets: ["FloraModel"]),
        .library(name: "FloraEngine", targets: ["FloraEngine"]),
        .library(name: "FloraTraining", targets: ["FloraTraining"]),
        .library(name: "FloraServer", targets: ["FloraServer"]),
        // The fuzz targets, for the libFuzzer executables of fuzz/Package.swift (docs/reliability.md).
        .library(name: "FloraFuzzing", targets: ["FloraFuzzing"]),
        .library(name: "FloraRequestFuzzing", targets: ["FloraRequestFuzzing"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
    ],
    targets: [
        // Layer 1: storage, packed SIMD kernels, quantized blocks, threading. The int8 dot-product
        // kernels are C because Swift cannot emit VNNI instructions (DESIGN.md section 9).
        .target(name: "CFloraKernels"),
        .target(name: "FloraTensor", dependencies: ["CFloraKernels"]),
        // Layer 2: file formats and the tokenizer.
        .target(name: "FloraFormats", dependencies: ["FloraTensor"]),
        .target(name: "FloraTokenizer"),
        // Layer 3: adapters (weights, bank, batched kernels) and the transformer that calls them.
        .target(name: "FloraAdapters", dependencies: ["FloraTensor", "FloraFormats"]),
        .target(name: "FloraModel", dependencies: ["FloraTensor", "FloraFormats", "FloraTokenizer", "FloraAdapters"]),
        // Layer 4: requests, scheduling, sampling.
        .target(name: "FloraEngine", dependencies: ["FloraTensor", "FloraModel", "FloraTokenizer", "FloraAdapters"]),
        .target(name: "FloraTraining", dependencies: ["FloraTensor", "FloraFormats", "FloraTokenizer", "FloraModel", "FloraAdapters"]),
        // Layer 5: measurement.
        .target(name: "FloraBench", dependencies: ["FloraTensor", "FloraTokenizer", "FloraAdapters", "FloraModel", "FloraEngine"]),
        // Layer 5: the OpenAI-compatible HTTP server.
        .target(
            name: "FloraServer",
            dependencies: [
                "FloraEngine", "FloraModel", "FloraTokenizer", "FloraAdapters", "FloraFormats",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Layer 6: one fuzz target per input a user controls; fuzz/ wraps each in a libFuzzer
        // executable, and FloraFuzzingTests replays the committed corpora through the same code.
        .target(name: "FloraFuzzing", dependencies: ["FloraFormats", "FloraTokenizer", "FloraAdapters", "FloraModel"]),
        .target(name: "FloraRequestFuzzing", dependencies: ["FloraFuzzing", "FloraServer", "FloraTokenizer"]),
        // Layer 6: the command line.
        .executableTarget(
            name: "flora",
            dependencies: [
                "FloraTensor", "FloraFormats", "FloraTokenizer", "FloraModel", "FloraAdapters", "FloraEngine", "FloraTraining", "FloraBench", "FloraServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The program of docs/library.md, built with the tests so that the documented use compiles.
        .executableTarget(
            name: "flora-library-example",
            dependencies: ["FloraEngine", "FloraModel", "FloraTokenizer"],
            path: "Examples/flora-library-example"
        ),
        // Shared by the test targets: where the real model, the golden files and scratch live.
        .target(
            name: "FloraTestSupport", dependencies: ["FloraEngine", "FloraModel", "FloraTokenizer", "FloraAdapters", "FloraFormats", "FloraTensor"],
            path: "Tests/FloraTestSupport"),
        .testTarget(name: "FloraTensorTests", dependencies: ["FloraTestSupport", "FloraTensor"]),
        .testTarget(name: "FloraFormatsTests", dependencies: ["FloraTestSupport", "FloraFormats", "FloraTensor"]),
        .testTarget(name: "FloraTokenizerTests", dependencies: ["FloraTestSupport", "FloraTokenizer", "FloraFormats", "FloraTensor"]),
        .testTarget(name: "FloraAdaptersTests", dependencies: ["FloraTestSupport", "FloraAdapters", "FloraFormats", "FloraTensor"]),
        .testTarget(name: "FloraEngineTests", dependencies: ["FloraTestSupport", "FloraEngine", "FloraModel", "FloraAdapters", "FloraTokenizer", "FloraFormats", "FloraTensor"]),
        .testTarget(name: "FloraTrainingTests", dependencies: ["FloraTestSupport", "FloraTraining", "FloraModel", "FloraAdapters", "FloraFormats", "FloraTensor"]),
        .testTarget(
            name: "FloraServerTests",
            dependencies: [
                "FloraTestSupport", "FloraServer", "FloraEngine", "FloraModel", "FloraAdapters", "FloraTokenizer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "FloraBenchTests", dependencies: ["FloraTestSupport", "FloraBench", "FloraEngine", "FloraModel", "FloraAdapters", "FloraTokenizer", "FloraTensor"]),
        // Runs the built flora-library-example and checks docs/library.md shows it unchanged.
        .testTarget(name: "FloraLibraryTests", dependencies: ["FloraTestSupport", "FloraAdapters", "FloraModel"]),
        .testTarget(name: "FloraFuzzingTests", dependencies: ["FloraTestSupport", "FloraFuzzing", "FloraRequestFuzzing"]),
        .testTarget(name: "FloraModelTests", dependencies: ["FloraTestSupport", "FloraModel", "FloraAdapters", "FloraFormats", "FloraTokenizer", "FloraTensor"]),
    ]
)
