// Linear weights that stay in their GGUF blocks (Q8_0, Q4_1 and the K-quants Q2_K … Q6_K; Q4_0,
// Q5_0 and IQ4_NL rewritten exactly as Q8_0 blocks):
// packed straight from the file's bytes into quantized panels (FloraTensor's QuantizedPanels.swift
// and KQuantPanels.swift), so a model keeps a fifth to a tenth of the fp32 footprint and decode
// streams that much less memory per token. The q/k row un-permutation of GGUFWeights.swift moves
// whole rows, so it is applied to the raw rows: rows are whole blocks (32 values, or a K-quant's
// 256-value super-blocks), which is checked here before any row moves.

import Foundation
import FloraFormats
import FloraTensor

extension GGUFWeightSource {
    /// Whether quantized linear weights stay quantized unless told otherwise: yes, except with
    /// the environment variable `FLORA_WEIGHTS=f32` (to compare with the fp32 path).
    public static var keepsQuantizedWeightsByDefault: Bool {
        ProcessInfo.processInfo.environment["FLORA_WEIGHTS"]?.lowercased() != "f32"
    }

    /// The Q8_0, Q4_1 or K-quant weight `name` packed in its blocks; nil for other types (loaded
    /// as fp32) or when `keepsQuantizedWeights` is off.
    public func packedLinear(_ name: String) throws -> PackedMatrix? {
        guard keepsQuantizedWeights, let ggufName = naming(name), let info = file.tensorInfos[ggufName],
              let stored = info.type.blockFormat, let format = stored.panelFormat, info.shape.count == 2
        else { return nil }
        let outputs = info.shape[0], inputs = info.shape[1]
        let heads = permutedHeads(name)
        if heads > 0 {
            let unit = format.isKQuant ? "whole \(format) super-blocks of \(format.elementsPerBlock) values"
                : "whole \(format) blocks of \(format.elementsPerBlock) values"
            guard inputs % format.elementsPerBlock == 0 else {
                throw ModelError.invalidConfig(
                    source: sourceName,
                    detail: "tensor '\(ggufName)': undoing llama.cpp's q/k row permutation moves whole rows, which must be \(unit); found rows of \(inputs) values")
            }
            guard outputs % heads == 0, (outputs / heads) % 2 == 0 else {
                throw ModelError.invalidConfig(
                    source: sourceName,
                    detail: "tensor '\(ggufName)': undoing llama.cpp's q/k row permutation needs \(heads) heads of an even number of rows; found \(outputs) rows")
            }
        }
        let headDim = heads > 0 ? outputs / heads : 0
        // Hugging Face row r = h·headDim + j·half + i comes from GGUF row h·headDim + 2i + j.
        let sourceRow = { (r: Int) -> Int in
            guard headDim >= 2 else { return r }
            let half = headDim / 2, within = r % headDim
            return r - within + 2 * (within % half) + within / half
        }
        do {
            return try file.withRawBytes(of: ggufName) { raw in
                guard stored != format else {
                    return try PackedMatrix(quantized: format, blocks: raw, outputs: outputs, inputs: inputs, sourceRow: sourceRow, products: products)
                }
                // Q4_0, Q5_0 and IQ4_NL values are d · int8: the same values as Q8_0 blocks, which
                // the kernels read (a transient copy of the tensor at 34 bytes per 32 values).
                let blocks = raw.count / stored.bytesPerBlock
                var transcoded = [UInt8](repeating: 0, count: blocks * format.bytesPerBlock)
                transcoded.withUnsafeMutableBytes { stored.transcodeToQ8_0(raw.baseAddress!, blocks: blocks, into: $0.baseAddress!) }
                return try transcoded.withUnsafeBytes {
                    try PackedMatrix(quantized: format, blocks: $0, outputs: outputs, inputs: inputs, sourceRow: sourceRow, products: products)
                }
            }
        } catch let error as PackedMatrixError {
            throw ModelError.invalidConfig(source: sourceName, detail: "tensor '\(ggufName)': \(error)")
        }
    }
}
