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

extension TestFiles {
    /// An executable product of this package (`flora`, `flora-library-example`): beside the
    /// test bundle (`swift build --build-tests` builds every product into one folder), or in
    /// `.build/release` of the repository. Nil when it is not built.
    public static func builtExecutable(_ name: String) -> String? {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates: [String] = []
        for _ in 0..<4 {
            candidates.append(folder.appendingPathComponent(name).path)
            folder.deleteLastPathComponent()
        }
        candidates.append(repositoryRoot + "/.build/release/" + name)
        return candidates.first(where: FileManager.default.isExecutableFile(atPath:))
    }
}
