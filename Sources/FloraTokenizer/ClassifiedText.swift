// Character classes the pre-tokenizer patterns ask about, computed once per text so that the
// hand-written matchers never query Unicode properties twice for one character.
// Letters are \p{L} (Lu Ll Lt Lm Lo), numbers \p{N} (Nd Nl No), whitespace \s (the Unicode
// White_Space property, as Oniguruma's and Rust regex's \s).

enum CharClass {
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let whitespace: UInt8 = 4
    /// \r or \n (also whitespace).
    static let newline: UInt8 = 8
    static let letterNumberOrSpace: UInt8 = letter | number | whitespace

    static func of(_ scalar: Unicode.Scalar) -> UInt8 {
        let value = scalar.value
        if value < 128 { return ascii[Int(value)] }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return number
        default:
            return properties.isWhitespace ? whitespace : 0
        }
    }

    private static let ascii: [UInt8] = (0..<128).map { value -> UInt8 in
        switch value {
        case 0x41...0x5A, 0x61...0x7A: return letter
        case 0x30...0x39: return number
        case 0x0A, 0x0D: return whitespace | newline
        case 0x09, 0x0B, 0x0C, 0x20: return whitespace
        default: return 0
        }
    }
}

/// A text as Unicode scalars with the class of each one.
struct ClassifiedText {
    var scalars: [Unicode.Scalar]
    var classes: [UInt8]

    init(_ scalars: [Unicode.Scalar]) {
        self.scalars = scalars
        self.classes = scalars.map(CharClass.of)
    }

    init(_ text: String) { self.init(Array(text.unicodeScalars)) }
}
