// Quantized packed weights: ggml's Q8_0 and Q4_1 blocks (the GGUF specification's block types,
// see QuantizedBlocks.swift) re-laid per panel of 32 output rows, so that a product streams one
// contiguous run of bytes per panel and dequantizes it inside the kernel (MatMulQuantized.swift).
//
// Panel q holds, for each k-block b (32 inputs) in order, one tile of `tileBytes` bytes:
//
//     q8_0: scale[32] (fp32),          then q[p·32 + c] (int8)      for p < 32, c < 32
//     q4_1: scale[32], min[32] (fp32), then byte[p·16 + j] (uint8)  for p < 32, j < 16,
//           byte[p·16 + j] = q(c = j) | q(c = j + 16) << 4
//
// where c is the output row within the panel and p the input within the block. The value is
// W[32q + c, 32b + p] = scale[c] · q (q8_0) or scale[c] · q + min[c] (q4_1): the same fp32 value
// as BlockFormat.dequantize: the halves are widened to fp32 exactly, and scale · q is exact in
// fp32 (11 + 8 significant bits at most), so a fused multiply-add rounds `scale · q + min` once,
// as the separate multiply and add do. Padding rows have zero scales and codes.
//
// The K-quants keep one tile per (panel, 256-input super-block) instead, laid out in
// KQuantPanels.swift; everything below that walks tiles works in `elementsPerBlock` inputs.

/// Why a quantized packed matrix cannot be built.
public struct PackedMatrixError: Error, CustomStringConvertible {
    public let description: String
}

extension PackedMatrix {
    /// The block formats that can stay quantized inside the panels.
    public static let quantizedFormats: [BlockFormat] = [.q8_0, .q4_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// Bytes of one (panel, k-block) tile in `format`.
    static func tileBytes(_ format: BlockFormat) -> Int {
        switch format {
        case .q8_0: 128 + 32 * 32
        case .q4_1: 256 + 32 * 16
        default: KQuantTiles.tileBytes(format)
        }
    }

    /// Bytes a packed matrix in `format` keeps per weight (padding rows aside): 4 for fp32
    /// panels, a tile's bytes over its 32 × `elementsPerBlock` weights for quantized ones.
    public static func bytesPerWeight(_ format: BlockFormat) -> Double {
        guard quantizedFormats.contains(format) else { return 4 }
        return Double(tileBytes(format)) / Double(32 * format.elementsPerBlock)
    }

    /// Bytes of one panel: one tile per block of `format.elementsPerBlock` inputs.
    var panelBytes: Int { inputs / format.elementsPerBlock * Self.tileBytes(format) }

    /// Packs a `[outputs, inputs]` weight stored as ggml blocks (`format` is one of
    /// `quantizedFormats`), row-major: row `r` is `inputs / elementsPerBlock` consecutive blocks.
    /// Row `j` of the packed matrix is row `sourceRow(j)` of `blocks` (a loader's row
    /// permutation: it moves whole rows, hence whole blocks; identity by default). Throws when the
    /// format cannot stay quantized, `inputs` is not a whole number of blocks (32 values, or a
    /// K-quant's 256), the byte count does not match the shape, or `sourceRow` leaves the rows.
    /// `products` says how its products compute (QuantizedProducts).
    public convenience init(
        quantized format: BlockFormat, blocks: UnsafeRawBufferPointer, outputs: Int, inputs: Int,
        sourceRow: (Int) -> Int = { $0 }, products: QuantizedProducts = .exact
    ) throws {
        guard Self.quantizedFormats.contains(format) else {
            throw PackedMatrixError(description: "a quantized packed matrix needs Q8_0, Q4_1 or K-quant blocks, got \(format)")
        }
        let blockElements = format.elementsPerBlock
        guard outputs >= 0, inputs >= 0, inputs % blockElements == 0 else {
            let unit = format.isKQuant ? "super-blocks of \(blockElements)" : "blocks of \(blockElements)"
            throw PackedMatrixError(
                description: "a \(format) matrix needs rows of whole \(unit) inputs, got \(outputs)×\(inputs) (\(inputs % max(blockElements, 1)) inputs left over)")
        }
        let blockBytes = format.bytesPerBlock
        let kBlocks = inputs / blockElements
        let rowBytes = kBlocks * blockBytes
        guard blocks.count == outputs * rowBytes else {
            throw PackedMatrixError(description: "\(outputs)×\(inputs) \(format) weights take \(outputs * rowBytes) bytes, found \(blocks.count)")
        }
        let tileBytes = Self.tileBytes(format)
        let panelCount = (outputs + 31) / 32
        let storage = FloatBuffer(count: panelCount * kBlocks * tileBytes / 4)  // zero: padding rows
        let base = UnsafeMutableRawPointer(storage.pointer)
        try withKQuantParts { parts in
            for j in 0..<outputs {
                let from = sourceRow(j)
                guard from >= 0, from < outputs, let source = blocks.baseAddress else {
                    throw PackedMatrixError(description: "row \(j) of a \(outputs)-row quantized matrix maps to row \(from)")
                }
                let row = source + from * rowBytes
                let tiles = base + (j / 32) * kBlocks * tileBytes
                if format.isKQuant {
                    KQuantTiles.packRow(format, row, superBlocks: kBlocks, column: j % 32, tiles: tiles, parts: &parts)
                } else {
                    Self.packRow(format, row, blocks: kBlocks, column: j % 32, tiles: tiles)
                }
            }
        }
        self.init(outputs: outputs, inputs: inputs, format: format, panels: storage, products: products)
    }

    /// Packs one row of Q8_0 or Q4_1 blocks as column c of its panel's tiles.
    private static func packRow(_ format: BlockFormat, _ row: UnsafeRawPointer, blocks: Int, column c: Int, tiles: UnsafeMutableRawPointer) {
        let tileBytes = Self.tileBytes(format)
        for b in 0..<blocks {
            let block = row + b * format.bytesPerBlock
            let tile = tiles + b * tileBytes
            let scales = tile.assumingMemoryBound(to: Float.self)
            scales[c] = BlockFormat.half(block, 0)
            if format == .q8_0 {
                let codes = (tile + 128).assumingMemoryBound(to: UInt8.self)
                for p in 0..<32 { codes[p * 32 + c] = block.load(fromByteOffset: 2 + p, as: UInt8.self) }
            } else {
                scales[32 + c] = BlockFormat.half(block, 2)
                let codes = (tile + 256).assumingMemoryBound(to: UInt8.self)
                for p in 0..<32 {
                    let byte = block.load(fromByteOffset: 4 + p % 16, as: UInt8.self)
                    let code = p < 16 ? byte & 0x0F : byte >> 4
                    codes[p * 16 + c % 16] |= c < 16 ? code : code << 4
                }
            }
        }
    }

    /// Quantizes a row-major `[outputs, inputs]` fp32 weight with `BlockFormat.quantize` and packs
    /// the blocks (tests and benchmarks: the quantized twin of `init(weight:outputs:inputs:)`).
    public convenience init(
        quantizing weight: UnsafePointer<Float>, outputs: Int, inputs: Int, format: BlockFormat, products: QuantizedProducts = .exact
    ) throws {
        let blockElements = format.elementsPerBlock
        guard let bytes = format.byteCount(elements: outputs * inputs), inputs % blockElements == 0 else {
            throw PackedMatrixError(description: "a \(format) matrix needs inputs in whole blocks of \(blockElements), got \(outputs)×\(inputs)")
        }
        let blocks = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes, 1), alignment: 16)
        defer { blocks.deallocate() }
        format.quantize(weight, blocks: outputs * inputs / blockElements, into: blocks.baseAddress!)
        try self.init(quantized: format, blocks: UnsafeRawBufferPointer(rebasing: blocks[0..<bytes]), outputs: outputs, inputs: inputs, products: products)
    }

    /// The same weight with fp32 panels (`self` when it already has them).
    public func dequantized() -> PackedMatrix {
        guard format != .f32 else { return self }
        let result = PackedMatrix(outputs: outputs, inputs: inputs) { _, _, _ in }
        let set = QuantizedPanelSet(self)
        for q in 0..<panelCount {
            set.dequantize(panel: q, blocks: 0..<(inputs / format.elementsPerBlock), into: result.panels.pointer + q * 32 * inputs)
        }
        return result
    }
}

/// Quantized panels in memory (see the top of this file): panel `q` starts at `base + q · panelBytes`.
struct QuantizedPanelSet {
    let base: UnsafeRawPointer
    let format: BlockFormat
    let panelBytes: Int
    let tileBytes: Int
    /// Inputs per tile: 32, or a K-quant's 256.
    let blockElements: Int
    let outputs: Int
    let inputs: Int

    init(_ w: PackedMatrix) {
        base = UnsafeRawPointer(w.panels.pointer)
        format = w.format
        panelBytes = w.panelBytes
        tileBytes = PackedMatrix.tileBytes(w.format)
        blockElements = w.format.elementsPerBlock
        outputs = w.outputs
        inputs = w.inputs
    }

    /// Tiles per panel.
    var blockCount: Int { inputs / blockElements }

    /// Writes k-blocks `blocks` of panel `q` as fp32 panel rows, `[blocks.count · blockElements, 32]`
    /// (the layout of an fp32 panel, so the fp32 register tiles run on it unchanged).
    @inline(__always)
    func dequantize(panel q: Int, blocks: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        var tile = base + q * panelBytes + blocks.lowerBound * tileBytes
        var target = out
        if format.isKQuant {
            KQuantTiles.dequantize(format, tile, count: blocks.count, into: out)
        } else if format == .q8_0 {
            for _ in blocks {
                dequantizeQ8_0Tile(tile, into: target)
                tile += tileBytes
                target += 1024
            }
        } else {
            for _ in blocks {
                dequantizeQ4_1Tile(tile, into: target)
                tile += tileBytes
                target += 1024
            }
        }
    }
}

/// One Q8_0 tile → `out[p·32 + c] = scale[c] · q[p·32 + c]` for p, c < 32. The scales are held
/// in registers so that LLVM vectorises the loop without alias checks (vpmovsxbd, vcvtdq2ps).
@inline(never)
func dequantizeQ8_0Tile(_ tile: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
    let scales = tile.assumingMemoryBound(to: Float.self)
    let s0 = loadAligned16(scales), s1 = loadAligned16(scales + 16)
    let codes = (tile + 128).assumingMemoryBound(to: Int8.self)
    for p in 0..<32 {
        let row = codes + p * 32
        let target = out + p * 32
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { converted in
            for c in 0..<32 { converted[c] = Float(row[c]) }
            let base = converted.baseAddress!
            store16(s0 * loadUnaligned16(base), target)
            store16(s1 * loadUnaligned16(base + 16), target + 16)
        }
    }
}

/// One Q4_1 tile → `out[p·32 + c] = scale[c] · q + min[c]`, bit for bit as `BlockFormat.dequantize`
/// (which multiplies, then adds): the scale is a widened half and q < 16, so `scale · q` is exact
/// and the fused multiply-add rounds once, to the same value.
@inline(never)
func dequantizeQ4_1Tile(_ tile: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
    let scales = tile.assumingMemoryBound(to: Float.self)
    let d0 = loadAligned16(scales), d1 = loadAligned16(scales + 16)
    let m0 = loadAligned16(scales + 32), m1 = loadAligned16(scales + 48)
    let codes = (tile + 256).assumingMemoryBound(to: UInt8.self)
    for p in 0..<32 {
        let row = codes + p * 16
        let target = out + p * 32
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { converted in
            for j in 0..<16 {
                converted[j] = Float(row[j] & 0x0F)
                converted[j + 16] = Float(row[j] >> 4)
            }
            let base = converted.baseAddress!
            store16(m0.addingProduct(loadUnaligned16(base), d0), target)
            store16(m1.addingProduct(loadUnaligned16(base + 16), d1), target + 16)
        }
    }
}

extension PackedMatrix {
    /// Writes row `j` of W (`inputs` floats, dequantized when the panels are quantized) to
    /// `destination`: an embedding lookup on a tied LM head without an fp32 copy of the table.
    public func copyRow(_ j: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(j >= 0 && j < outputs, "row \(j) of a \(outputs)-row matrix")
        let c = j % 32
        if format == .f32 {
            let panel = panels.pointer + (j / 32) * 32 * inputs
            for p in 0..<inputs { destination[p] = panel[p * 32 + c] }
            return
        }
        let set = QuantizedPanelSet(self)
        if format.isKQuant {
            KQuantTiles.copyRow(format, c, tiles: set.base + (j / 32) * set.panelBytes, count: set.blockCount, into: destination)
            return
        }
        for b in 0..<(inputs / 32) {
            let tile = set.base + (j / 32) * set.panelBytes + b * set.tileBytes
            let scales = tile.assumingMemoryBound(to: Float.self)
            let out = destination + b * 32
            if format == .q8_0 {
                let codes = (tile + 128).assumingMemoryBound(to: Int8.self)
                for p in 0..<32 { out[p] = scales[c] * Float(codes[p * 32 + c]) }
            } else {
                let codes = (tile + 256).assumingMemoryBound(to: UInt8.self)
                for p in 0..<32 {
                    let byte = codes[p * 16 + c % 16]
                    out[p] = scales[c] * Float(c < 16 ? byte & 0x0F : byte >> 4) + scales[32 + c]
                }
            }
        }
    }
}
