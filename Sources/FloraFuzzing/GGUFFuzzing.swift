// A GGUF file as `flora serve --model` meets it: parsed, every tensor's bytes read within the
// file, small tensors converted, then the model config and the tokenizer read from the metadata.

import FloraFormats
import FloraModel
import FloraTokenizer

enum GGUFFuzzing {
    /// Tensors above this many elements are bounds-checked but not converted (a 4 KB input may
    /// describe a quantized tensor of ~30 k floats; converting it proves nothing more).
    static let maximumConvertedElements = 1 << 16

    static func run(_ data: [UInt8]) {
        guard let file = try? GGUFFile(bytes: data, name: "fuzz.gguf") else { return }
        for name in file.tensorNames {
            guard let info = try? file.tensorInfo(name) else {
                invariant(false, "tensor \(name) is listed but has no info")
                return
            }
            invariant(info.fileOffset >= file.dataOffset && info.fileOffset + info.byteCount <= data.count,
                      "tensor \(name) at \(info.fileOffset)+\(info.byteCount) lies outside the \(data.count)-byte file")
            let count = try? file.withRawBytes(of: name) { $0.count }
            invariant(count == info.byteCount, "tensor \(name): raw bytes \(String(describing: count)), info says \(info.byteCount)")
            if info.elementCount <= maximumConvertedElements, let tensor = try? file.tensor(name) {
                invariant(tensor.shape == info.shape, "tensor \(name) converted to shape \(tensor.shape), info says \(info.shape)")
            }
        }
        _ = try? LlamaConfig(gguf: file)
        _ = try? GPTBigCodeConfig(gguf: file)
        if let tokenizer = try? Tokenizer.gguf(file) {
            TextFuzzing.exercise(tokenizer, text: "Hello, world! <|im_start|> ünïcödé 🌊", ids: [0, 1, 2, 3])
        }
    }
}
