// Where the tests find the real model, the golden reference files and scratch space.
import Foundation

public enum TestFiles {
    /// The repository root, from this file's path (Tests/FloraTestSupport/TestFiles.swift).
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0 ..< 3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// Reference values computed by PyTorch, transformers and PEFT, committed with the script
    /// that regenerates them (scripts/fixtures/make_golden.py): tests read nothing outside the repository.
    public static let goldenDirectory: String = repositoryRoot + "/Tests/Fixtures/golden"

    /// The default model, fetched with scripts/fetch-model.sh when it is missing.
    public static func modelPath() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let home = environment["FLORA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/flora").path
        let path = home + "/models/SmolLM2-135M-Instruct.Q4_1.gguf"
        if FileManager.default.fileExists(atPath: path) { return path }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repositoryRoot + "/scripts/fetch-model.sh"]
        process.environment = environment.merging(["FLORA_HOME": home]) { $1 }
        try process.run()
        process.waitUntilExit()
        return path
    }

    /// A fresh scratch directory for one test.
    public static func scratchDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("flora-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }
}
