// Reading training data: formats, packing, masking, the held-out split, and errors that name the
// file and line.

import FloraTestSupport
import FloraTraining
import Foundation
import Testing

@Suite struct DataTests {
    /// One token per byte, for packing tests that need no vocabulary.
    static func bytes(_ text: String, _: Bool) -> [Int32] { text.utf8.map { Int32($0) } }

    func write(_ contents: String, _ name: String, in folder: String) throws -> String {
        let path = (folder as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("A folder is read file by file in path order, skipping hidden and empty files")
    func folderRecords() throws {
        let folder = try TestFiles.scratchDirectory()
        _ = try write("second", "b/two.pm", in: folder)
        _ = try write("first", "a.pm", in: folder)
        _ = try write("", "empty.txt", in: folder)
        _ = try write("hidden", ".git/config", in: folder)
        _ = try write("{\"prompt\": \"p\", \"completion\": \"c\"}\n\n{\"text\": \"t\"}\n", "c.jsonl", in: folder)
        let records = try TrainingRecords.load(path: folder)
        #expect(records == [.text("first"), .text("second"), .pair(prompt: "p", completion: "c"), .text("t")])
    }

    @Test("Unreadable, empty and malformed data is refused with the file and the line", arguments: [
        ("missing.txt", nil, "no such file"),
        ("empty.txt", "", "is empty"),
        ("blank.jsonl", "\n  \n", "holds no records"),
        ("bad.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"ok\"}\n{\"text\": 3}\n", "bad.jsonl:3: expected a JSON object"),
        ("broken.jsonl", "{\"text\": \"ok\"}\nnot json\n", "broken.jsonl:2: expected a JSON object"),
        ("half.jsonl", "{\"prompt\": \"only a prompt\"}\n", "half.jsonl:1: expected a JSON object with a string \"text\", or strings \"prompt\" and \"completion\", found an object with keys [prompt]"),
    ] as [(String, String?, String)])
    func badDataIsRefused(name: String, contents: String?, message: String) throws {
        let folder = try TestFiles.scratchDirectory()
        let path = try contents.map { try write($0, name, in: folder) } ?? (folder as NSString).appendingPathComponent(name)
        let error = #expect(throws: TrainingError.self) { try TrainingRecords.load(path: path) }
        let description = error.map { "\($0)" } ?? ""
        #expect(description.contains(path.hasSuffix(name) ? name : path), "\(description)")
        #expect(description.contains(message), "\(description)")
    }

    @Test("A folder without usable files is refused")
    func emptyFolder() throws {
        let folder = try TestFiles.scratchDirectory()
        #expect(throws: TrainingError.data(file: folder, line: nil, detail: "the folder holds no files")) { try TrainingRecords.load(path: folder) }
        _ = try write(" \n", "blank.txt", in: folder)
        #expect(throws: TrainingError.data(file: folder, line: nil, detail: "every file in the folder is empty")) { try TrainingRecords.load(path: folder) }
    }

    @Test("A file that cannot be read is refused with its path")
    func unreadableFile() throws {
        guard getuid() != 0 else { return }  // root reads anything
        let folder = try TestFiles.scratchDirectory()
        let path = try write("secret", "locked.txt", in: folder)
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
        let error = #expect(throws: TrainingError.self) { try TrainingRecords.load(path: path) }
        #expect("\(error!)".contains("locked.txt: cannot be read"))
    }

    @Test("Documents are packed into overlapping windows that restart at document boundaries")
    func packing() throws {
        let (examples, _) = try TrainingDataset.sequences(
            [.text("abcdef"), .text("xyz")], sequenceLength: 4, endOfSequence: 0, encode: Self.bytes)
        // Stream: a b c d e f 0 x y z 0 (11 tokens); windows of 4 overlapping by one.
        func ids(_ text: String) -> [Int32] { text.utf8.map { $0 == UInt8(ascii: "#") ? 0 : Int32($0) } }
        #expect(examples.map(\.tokens) == [ids("abcd"), ids("def#"), ids("#xyz"), ids("z#")])
        #expect(examples[2].segmentStarts == [0, 1])  // "#" ends the first document, "xyz" starts the second
        #expect(examples[2].targetMask == [false, false, true, true])
        // Every token after a document's first is predicted exactly once.
        #expect(examples.map(\.targetCount).reduce(0, +) == 11 - 2)
    }

    @Test("Prompt/completion pairs score only the completion and its end token; long prompts are cut from the left")
    func pairs() throws {
        let (examples, dropped) = try TrainingDataset.sequences(
            [.pair(prompt: "question", completion: "ok"), .pair(prompt: "", completion: "x")], sequenceLength: 6, endOfSequence: 0,
            encode: Self.bytes)
        #expect(dropped == 1)
        #expect(examples.count == 1)
        let expected: [Int32] = [105, 111, 110, 111, 107, 0]  // "ion" + "ok" + end
        #expect(examples[0].tokens == expected)
        #expect(examples[0].targetMask == [false, false, false, true, true, true])
    }

    @Test("The held-out split is the last fraction of the sequences")
    func split() {
        let examples = (0..<20).map { TrainingExample(tokens: [Int32($0), 1, 2]) }
        let (train, heldOut) = TrainingDataset.split(examples, evalFraction: 0.1)
        #expect(train.count == 18 && heldOut.map { $0.tokens[0] } == [18, 19])
        #expect(TrainingDataset.split(examples, evalFraction: 0).heldOut.isEmpty)
        #expect(TrainingDataset.split(Array(examples.prefix(1)), evalFraction: 0.5).train.count == 1)
    }
}
