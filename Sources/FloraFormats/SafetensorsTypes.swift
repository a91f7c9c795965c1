// The element types and tensor entries of safetensors files (Hugging Face's safetensors format:
// u64 header length, JSON header, raw little-endian data).

/// A safetensors `dtype`. All are known so that sizes are validated; `F32`, `F16`, `BF16` and
/// `F64` convert to fp32, the others are refused by name when loaded as floats.
public enum SafetensorsDType: String, Sendable, CaseIterable, CustomStringConvertible {
    case bool = "BOOL", u8 = "U8", i8 = "I8", f8e5m2 = "F8_E5M2", f8e4m3 = "F8_E4M3"
    case i16 = "I16", u16 = "U16", f16 = "F16", bf16 = "BF16"
    case i32 = "I32", u32 = "U32", f32 = "F32", f64 = "F64", i64 = "I64", u64 = "U64"

    public var description: String { rawValue }

    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e5m2, .f8e4m3: 1
        case .i16, .u16, .f16, .bf16: 2
        case .i32, .u32, .f32: 4
        case .f64, .i64, .u64: 8
        }
    }

    /// Whether `SafetensorsFile.tensor` can convert this type to fp32.
    public var isConvertible: Bool { [.f32, .f16, .bf16, .f64].contains(self) }
}

/// One tensor of a safetensors file: its dtype, row-major shape and where its bytes lie.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    public let shape: [Int]
    /// `data_offsets` of the header: bytes relative to the start of the data section.
    public let dataOffsets: Range<Int>
    /// Offset of the tensor's first byte from the start of the file.
    public let fileOffset: Int

    public var elementCount: Int { shape.reduce(1, *) }
}
