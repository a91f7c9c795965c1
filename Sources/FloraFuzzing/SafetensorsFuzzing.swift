// A safetensors file as a model folder or an adapter folder holds it: the header read by the
// fast scanner must mean what the Codable reader makes of it, and every accepted tensor's bytes
// must lie in the file and convert.

import FloraFormats

enum SafetensorsFuzzing {
    static let maximumConvertedElements = 1 << 16

    static func run(_ data: [UInt8]) {
        checkScannerAgreesWithDecoder(data)
        guard let file = try? SafetensorsFile(bytes: data, name: "fuzz.safetensors") else { return }
        for info in file.orderedTensorInfos {
            invariant(info.fileOffset >= file.dataOffset && info.fileOffset + info.dataOffsets.count <= data.count,
                      "tensor \(info.name) at \(info.fileOffset)+\(info.dataOffsets.count) lies outside the \(data.count)-byte file")
            let count = try? file.withRawBytes(of: info.name) { $0.count }
            invariant(count == info.dataOffsets.count, "tensor \(info.name): raw bytes \(String(describing: count)), offsets say \(info.dataOffsets)")
            let elements = info.shape.reduce(1, *)
            if info.dtype.isConvertible, elements <= maximumConvertedElements, let tensor = try? file.tensor(info.name) {
                invariant(tensor.shape == info.shape, "tensor \(info.name) converted to shape \(tensor.shape), header says \(info.shape)")
            }
        }
    }

    /// The scanner is a fast path for the plain form of headers: whenever it answers, the
    /// reference reader must give the same header.
    static func checkScannerAgreesWithDecoder(_ data: [UInt8]) {
        guard data.count >= 8 else { return }
        let json = Array(data[8...])
        json.withUnsafeBytes { bytes in
            guard let scanned = SafetensorsHeaderScanner.scan(bytes) else { return }
            let decoded = try? SafetensorsHeader.decode(bytes, file: "fuzz.safetensors")
            invariant(decoded == scanned, "the header scanner read \(scanned), the JSON decoder \(String(describing: decoded))")
        }
    }
}
