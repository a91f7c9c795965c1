// PEFT's rules for which modules a config selects and with which rank and alpha, as in
// peft.tuners.tuners_utils.check_target_module_exists and peft.utils.get_pattern_key:
// - a list selects a module whose path equals an entry or ends with "." + entry; a string is a
//   regular expression that must match the whole path ("all-linear": every linear layer);
// - `exclude_modules` removes modules the same way; `layers_to_transform` restricts list-form
//   targets matched by suffix to some layer indices;
// - a `rank_pattern`/`alpha_pattern` key applies to a module when `(.*\.)?(key)$` matches its path.

import Foundation

/// A `PEFTConfig`'s selectors, with their regular expressions compiled once per load.
public struct PEFTModuleMatcher {
    public let config: PEFTConfig
    private let file: String
    private let target: CompiledSelector
    private let exclude: CompiledSelector?
    private let feedforward: CompiledSelector?
    private let rankPatterns: [(key: String, regex: Regex<AnyRegexOutput>, value: Int)]
    private let alphaPatterns: [(key: String, regex: Regex<AnyRegexOutput>, value: Double)]

    /// Compiles the config's expressions; an invalid one is refused naming its key (`file` is the config's path).
    public init(_ config: PEFTConfig, file: String) throws {
        self.config = config
        self.file = file
        target = try CompiledSelector(config.targetModules, key: "target_modules", file: file)
        exclude = try config.excludeModules.map { try CompiledSelector($0, key: "exclude_modules", file: file) }
        feedforward = try config.feedforwardModules.map { try CompiledSelector($0, key: "feedforward_modules", file: file) }
        rankPatterns = try config.rankPattern.sorted { $0.key < $1.key }.map {
            ($0.key, try suffixRegex($0.key, key: "rank_pattern.\($0.key)", file: file), $0.value)
        }
        alphaPatterns = try config.alphaPattern.sorted { $0.key < $1.key }.map {
            ($0.key, try suffixRegex($0.key, key: "alpha_pattern.\($0.key)", file: file), $0.value)
        }
    }

    /// Whether the module at `path` (in layer `layer`) is adapted.
    public func targets(_ path: String, layer: Int) -> Bool {
        if let exclude, exclude.matches(path) { return false }
        guard target.matches(path) else { return false }
        // PEFT filters by layer only list entries matched as a suffix, not a module named in full.
        if case .names(let names) = config.targetModules, let layers = config.layersToTransform, !names.contains(path) {
            return layers.contains(layer)
        }
        return true
    }

    /// Whether a module outside the decoder layers (the token embedding, the LM head) at `path`
    /// is adapted: as `targets`, except that "all-linear" never selects them (PEFT leaves the
    /// output layer out of it) and that `layers_to_transform` leaves out every module matched by
    /// suffix, since such a path holds no layer index.
    public func targetsOutsideLayers(_ path: String) -> Bool {
        if let exclude, exclude.matches(path) { return false }
        if case .allLinear = target.form { return false }
        guard target.matches(path) else { return false }
        if case .names(let names) = config.targetModules, config.layersToTransform != nil, !names.contains(path) { return false }
        return true
    }

    /// IA3: whether the module's input (not output) is scaled.
    public func isFeedForward(_ path: String) -> Bool { feedforward?.matches(path) ?? false }

    /// The rank of the module at `path`: its `rank_pattern` entry, else `r`. Two keys that both
    /// match with different values are refused (PEFT would pick by dictionary order).
    public func rank(for path: String) throws -> Int {
        try patternValue(rankPatterns, path: path, name: "rank_pattern") ?? config.r
    }

    /// The LoRA alpha of the module at `path`: its `alpha_pattern` entry, else `lora_alpha`.
    public func alpha(for path: String) throws -> Double {
        try patternValue(alphaPatterns, path: path, name: "alpha_pattern") ?? config.loraAlpha
    }

    /// Whether `name` (an entry of a list-form selector) selects `path`.
    public static func listEntry(_ name: String, selects path: String) -> Bool {
        // `path.hasSuffix("." + name)` without building the string: thousands of checks per adapter.
        path.hasSuffix(name) && (path.utf8.count == name.utf8.count || path.utf8.dropLast(name.utf8.count).last == UInt8(ascii: "."))
    }

    private func patternValue<V: Equatable>(
        _ patterns: [(key: String, regex: Regex<AnyRegexOutput>, value: V)], path: String, name: String
    ) throws -> V? {
        let matching = patterns.filter { (try? $0.regex.wholeMatch(in: path)) != nil }
        guard let first = matching.first else { return nil }
        if let other = matching.first(where: { $0.value != first.value }) {
            throw FormatError(.invalidValue, file: file, item: name, expected: "at most one value for module \(path)",
                              found: "keys '\(first.key)' (\(first.value)) and '\(other.key)' (\(other.value)) both match it")
        }
        return first.value
    }
}

/// A selector ready to match module paths.
private struct CompiledSelector {
    enum Form {
        case names([String])
        case regex(Regex<AnyRegexOutput>)
        case allLinear
    }

    let form: Form

    init(_ selector: PEFTConfig.ModuleSelector, key: String, file: String) throws {
        switch selector {
        case .names(let names):
            form = .names(names)
        case .pattern(let pattern) where pattern.lowercased() == "all-linear":
            form = .allLinear
        case .pattern(let pattern):
            do {
                form = .regex(try Regex(pattern))
            } catch {
                throw FormatError(.invalidValue, file: file, item: key, expected: "a valid regular expression", found: "'\(pattern)' (\(error))")
            }
        }
    }

    func matches(_ path: String) -> Bool {
        switch form {
        case .names(let names): names.contains { PEFTModuleMatcher.listEntry($0, selects: path) }
        case .regex(let regex): (try? regex.wholeMatch(in: path)) != nil
        case .allLinear: true  // every linear layer of the blocks (`targetsOutsideLayers` leaves lm_head out)
        }
    }
}

/// `(.*\.)?(key)$`, anchored at the start as Python's `re.match` is.
private func suffixRegex(_ key: String, key name: String, file: String) throws -> Regex<AnyRegexOutput> {
    do {
        return try Regex("(?:.*\\.)?(?:\(key))")
    } catch {
        throw FormatError(.invalidValue, file: file, item: name, expected: "a valid regular expression", found: "'\(key)' (\(error))")
    }
}
