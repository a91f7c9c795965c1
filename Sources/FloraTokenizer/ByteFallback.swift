// Byte fallback (SentencePiece `byte_fallback`, Hugging Face BPE `byte_fallback: true`): a
// character the vocabulary lacks is written as the tokens `<0xNN>` of its UTF-8 bytes, and
// decoding turns runs of such tokens back into text.
//
// Decoding a run follows SentencePiece (sentencepiece_processor.cc, `ProcessBytePieces`): one
// character at a time, a valid UTF-8 character as itself, and each byte that does not start one
// (or starts one the run does not complete) as U+FFFD. Hugging Face's ByteFallback decoder agrees
// whenever the run is valid UTF-8, as every run an encoder writes is; on an invalid run it
// replaces every byte of the run, which cannot be streamed (a later byte would change text
// already sent), so Flora keeps SentencePiece's rule there.

enum ByteFallback {
    /// The byte a token `<0xNN>` stands for (hexadecimal digits of either case, as Hugging Face's
    /// ByteFallback decoder reads them).
    static func byte(ofToken token: String) -> UInt8? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 6, utf8[0] == UInt8(ascii: "<"), utf8[1] == UInt8(ascii: "0"), utf8[2] == UInt8(ascii: "x"),
              utf8[5] == UInt8(ascii: ">"), let high = hexValue(utf8[3]), let low = hexValue(utf8[4]) else { return nil }
        return high << 4 | low
    }

    /// The spelling the encoders look up: `<0x0A>`, upper-case digits.
    static func token(ofByte byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [UInt8(ascii: "<"), UInt8(ascii: "0"), UInt8(ascii: "x"),
                                 digits[Int(byte >> 4)], digits[Int(byte & 15)], UInt8(ascii: ">")], as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// The id of each byte's token (-1: the vocabulary has none), from the vocabulary's spellings.
    static func byteTokens(_ tokenToId: TokenLookup) -> [TokenID] {
        (0..<256).map { tokenToId[token(ofByte: UInt8($0))] ?? -1 }
    }

    /// UTF-8 of U+FFFD.
    static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// Moves the characters that `pending` (bytes of a run) already decides to `output`: complete
    /// valid characters as themselves, bytes that cannot start or continue one as U+FFFD. With
    /// `endOfRun` nothing more follows, so an unfinished character's bytes become U+FFFD each;
    /// otherwise they stay pending.
    static func drain(_ pending: inout [UInt8], endOfRun: Bool, into output: inout [UInt8]) {
        var i = 0
        while i < pending.count {
            let length = validCharacterLength(pending, from: i)
            if length > 0 {
                output.append(contentsOf: pending[i..<(i + length)])
                i += length
            } else if length == 0 || endOfRun {
                output.append(contentsOf: replacement)
                i += 1
            } else {
                break  // a valid beginning that more bytes may complete
            }
        }
        pending.removeFirst(i)
    }

    /// At `bytes[start]`: the length of the valid UTF-8 character there (> 0), 0 when none can
    /// start there, or -1 when the bytes so far are a valid but unfinished character.
    static func validCharacterLength(_ bytes: [UInt8], from start: Int) -> Int {
        let first = bytes[start]
        let length: Int
        var second: ClosedRange<UInt8> = 0x80...0xBF
        switch first {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; second = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; second = 0x80...0x9F  // no surrogates
        case 0xF0: length = 4; second = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; second = 0x80...0x8F  // nothing above U+10FFFF
        default: return 0
        }
        for k in 1..<length {
            guard start + k < bytes.count else { return -1 }
            let byte = bytes[start + k]
            guard k == 1 ? second.contains(byte) : (0x80...0xBF).contains(byte) else { return 0 }
        }
        return length
    }
}
