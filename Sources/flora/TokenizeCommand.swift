import ArgumentParser
import FloraModel

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids of a text as a JSON array.")

    @OptionGroup var modelOptions: ModelOptions

    @Argument(help: "The text to tokenize (special tokens such as <|im_start|> are recognised).")
    var text: String

    func run() throws {
        let loaded = try ModelLoader.load(path: modelOptions.resolvedPath(), loadWeights: false)
        print("[" + loaded.tokenizer.encode(text).map(String.init).joined(separator: ",") + "]")
    }
}
