// GPT-2's byte-level alphabet (Radford et al., "Language Models are Unsupervised Multitask
// Learners", openai/gpt-2 encoder.py `bytes_to_unicode`), as Hugging Face `tokenizers` and
// llama.cpp use it: every byte gets one printable character, so a vocabulary of strings can
// hold arbitrary bytes. Printable Latin-1 bytes map to themselves; the other 68 bytes map, in
// byte order, to U+0100, U+0101, ….

/// The byte ↔ character table of byte-level BPE.
public enum ByteLevel {
    /// `characters[b]` is the vocabulary character that stands for byte `b`.
    public static let characters: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(byte) {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte a vocabulary character stands for, or nil when the character is not one of the 256.
    public static func byte(for character: Unicode.Scalar) -> UInt8? {
        let value = character.value
        if value < 256 { return isPrintable(Int(value)) ? UInt8(value) : nil }
        guard value < 256 + 68 else { return nil }
        return nonPrintable[Int(value - 256)]
    }

    /// The bytes a vocabulary token stands for: each character through the table, or — as
    /// Hugging Face's ByteLevel decoder does — the token's own UTF-8 when any character is
    /// outside the table (added tokens written as plain text, for instance).
    public static func bytes(ofToken token: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return Array(token.utf8) }
            bytes.append(byte)
        }
        return bytes
    }

    /// The vocabulary spelling of raw bytes (the inverse of `bytes(ofToken:)` for table characters).
    public static func token(ofBytes bytes: some Sequence<UInt8>) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(characters[Int(byte)]) }
        return String(text)
    }

    private static func isPrintable(_ byte: Int) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The bytes that map above U+00FF, in the order they were numbered.
    private static let nonPrintable: [UInt8] = (0..<256).filter { !isPrintable($0) }.map { UInt8($0) }
}
