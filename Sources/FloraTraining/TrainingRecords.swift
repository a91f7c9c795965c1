// Reading training data: a text file (one document), a folder (every file one document, JSONL
// files one record per line), or a JSONL file of `{"text": ...}` or `{"prompt": ..., "completion": ...}`.
// Errors name the file and, for JSONL, the line.

import Foundation

/// One unit of training data before tokenization.
public enum TrainingRecord: Sendable, Equatable {
    /// A document: every token is predicted.
    case text(String)
    /// Only the completion (and the end-of-sequence token after it) is predicted.
    case pair(prompt: String, completion: String)
}

public enum TrainingRecords {
    /// The records at `path`, in a fixed order: a folder's files sorted by relative path (hidden
    /// files and folders skipped, empty files skipped), a JSONL file's lines in order.
    public static func load(path: String) throws -> [TrainingRecord] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TrainingError.data(file: path, line: nil, detail: "no such file or folder")
        }
        if !isDirectory.boolValue {
            let records = try file(path)
            guard !records.isEmpty else {
                throw TrainingError.data(file: path, line: nil, detail: path.hasSuffix(".jsonl") ? "holds no records" : "is empty")
            }
            return records
        }
        let root = URL(fileURLWithPath: path).resolvingSymlinksInPath().path  // a linked folder is read through the link
        guard let enumerator = FileManager.default.enumerator(atPath: root) else {
            throw TrainingError.data(file: path, line: nil, detail: "the folder cannot be read")
        }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix(".") {
                if (enumerator.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { enumerator.skipDescendants() }
                continue
            }
            switch enumerator.fileAttributes?[.type] as? FileAttributeType {
            case .typeRegular?: files.append(relative)
            case .typeSymbolicLink?:  // a link to a file counts as the file
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent(relative), isDirectory: &isFolder),
                   !isFolder.boolValue { files.append(relative) }
            default: break
            }
        }
        var records: [TrainingRecord] = []
        for relative in files.sorted() {
            records += try file((root as NSString).appendingPathComponent(relative))
        }
        guard !records.isEmpty else {
            throw TrainingError.data(file: path, line: nil, detail: files.isEmpty ? "the folder holds no files" : "every file in the folder is empty")
        }
        return records
    }

    /// One file's records: JSONL by its `.jsonl` extension, else the whole file as one document
    /// (invalid UTF-8 replaced; empty or blank files give none).
    static func file(_ path: String) throws -> [TrainingRecord] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw TrainingError.data(file: path, line: nil, detail: "cannot be read (\((error as NSError).localizedDescription))")
        }
        if path.hasSuffix(".jsonl") { return try jsonLines(data, file: path) }
        let text = String(decoding: data, as: UTF8.self)
        return text.allSatisfy(\.isWhitespace) ? [] : [.text(text)]
    }

    /// JSONL: every non-blank line an object with a string "text", or strings "prompt" and "completion".
    static func jsonLines(_ data: Data, file: String) throws -> [TrainingRecord] {
        var records: [TrainingRecord] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let expected = "a JSON object with a string \"text\", or strings \"prompt\" and \"completion\""
            let preview = String(decoding: line.prefix(60), as: UTF8.self)
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw TrainingError.data(file: file, line: lineNumber, detail: "expected \(expected), found '\(preview)'")
            }
            if let text = object["text"] as? String {
                records.append(.text(text))
            } else if let prompt = object["prompt"] as? String, let completion = object["completion"] as? String {
                records.append(.pair(prompt: prompt, completion: completion))
            } else {
                let keys = object.keys.sorted().joined(separator: ", ")
                throw TrainingError.data(file: file, line: lineNumber, detail: "expected \(expected), found an object with keys [\(keys)]")
            }
        }
        return records
    }
}
