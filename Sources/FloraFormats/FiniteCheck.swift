// Weights with NaN or infinite values are refused when they are loaded (DESIGN.md section 2).

enum FiniteCheck {
    /// The index of the first NaN or infinite value among `count` floats, or nil. The first
    /// pass is an integer OR-reduction over the exponent bits that LLVM vectorises; only a
    /// tensor that fails it is searched element by element.
    static func firstNonFinite(_ values: UnsafePointer<Float>, count: Int) -> Int? {
        let bits = UnsafeRawPointer(values).assumingMemoryBound(to: UInt32.self)
        var flag: UInt32 = 0
        for i in 0 ..< count {
            flag |= (bits[i] & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0
        }
        if flag == 0 { return nil }
        return (0 ..< count).first { !values[$0].isFinite }
    }
}
