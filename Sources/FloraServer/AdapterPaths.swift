// Which adapter names and folders the server accepts. Names end up in metric labels (the
// comma-separated lists of `vllm:lora_requests_info`) and in URLs, so they are kept plain.
// Folders loaded at run time must resolve — symbolic links and `..` followed — to a place
// inside the adapter root given at start.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum AdapterPaths {
    static let maxNameLength = 128

    /// Nil when `name` is acceptable, or why it is not.
    static func problem(withName name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= maxNameLength else { return "an adapter name must have 1 to \(maxNameLength) characters" }
        let allowed = name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "-_.:+@".unicodeScalars.contains(scalar))
        }
        guard allowed else { return "an adapter name may hold only ASCII letters, digits and - _ . : + @, got '\(name)'" }
        return nil
    }

    /// The real path of an existing file or folder (symbolic links and `..` resolved), or nil.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `path` resolved and checked to lie inside `root` (itself a real path). A relative
    /// `path` is taken relative to `root`.
    static func resolve(_ path: String, inside root: String) throws(APIError) -> String {
        let joined = path.hasPrefix("/") ? path : root + "/" + path
        guard let resolved = realPath(joined) else {
            throw APIError.badRequest("no adapter folder at '\(path)'", param: "lora_path")
        }
        guard resolved == root || isInside(resolved, root: root) else {
            throw APIError(.forbidden, "'\(path)' is outside the adapter directory given at start (--adapter-dir); only folders inside it may be loaded", param: "lora_path")
        }
        guard isFolder(resolved) else {
            throw APIError.badRequest("'\(path)' is not a folder; an adapter is a folder with adapter_config.json and adapter_model.safetensors", param: "lora_path")
        }
        return resolved
    }

    /// Whether `path` lies strictly under `root` (a real path), by name only.
    static func isInside(_ path: String, root: String) -> Bool {
        path.hasPrefix(root == "/" ? "/" : root + "/")
    }

    /// Whether a folder is at `path`, symbolic links followed.
    static func isFolder(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// The folders directly under `root` by name, sorted; hidden ones are skipped (editors and
    /// copy tools keep their temporary files there).
    static func folders(in root: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return entries.filter { !$0.hasPrefix(".") && isFolder(root + "/" + $0) }.sorted()
    }
}
