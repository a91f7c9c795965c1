// The JSON automaton on whole texts: what it accepts parses, what it refuses is invalid JSON or
// outside the schema, and the schema checks that come before it.

import FloraEngine
import Foundation
import Testing

@Suite struct JSONGrammarTests {
    static let validJSON = [
        "{}", "[]", "\"\"", "0", "-0", "12", "-3.25", "1e5", "2.5E-3", "6.02e+23", "true", "false", "null",
        #"{"a": 1, "b": [true, false, null], "c": {"d": "e"}}"#,
        #"["x", {"y": []}, [[]], -1.5e2]"#,
        #""escapes \" \\ \/ \b \f \n \r \t \u00e9 \u20AC""#,
        "\"été 🌊 日本\"",
        "{\n  \"k\": [1,\t2]\r\n}",
    ]

    static let invalidJSON = [
        "", "{", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "[1,]", "{,}", "[,1]", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul",
        "nulll", "{\"a\":1}}", "[1]]", " {}x", "\"\u{01}\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "'a'", "\"abc",
    ]

    /// Valid JSON that the automaton still refuses, so that a model cannot loop or overflow.
    static let beyondTheLimits = [
        "{      }", "{} ", "[1,      2]", "1e100", "12345678901234567", "0.12345678901234567", "\"\\uD83D\\uDE00\"",
        String(repeating: "[", count: 65) + String(repeating: "]", count: 65),
    ]

    @Test(arguments: beyondTheLimits)
    func runsOfWhitespaceLongNumbersSurrogatesAndDeepNestingAreRefused(_ text: String) throws {
        #expect(!(try JSONGrammar(.any)).accepts(Array(text.utf8)))
    }

    @Test(arguments: validJSON)
    func validJSONIsAcceptedAndParses(_ text: String) throws {
        let any = try JSONGrammar(.any)
        #expect(any.accepts(Array(text.utf8)))
        #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil)
    }

    @Test(arguments: invalidJSON)
    func invalidJSONIsRefused(_ text: String) throws {
        #expect(!(try JSONGrammar(.any)).accepts(Array(text.utf8)))
    }

    @Test func invalidUTF8InAStringIsRefused() throws {
        let any = try JSONGrammar(.any)
        for bytes: [UInt8] in [[0x22, 0xC0, 0x80, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22]] {
            #expect(!any.accepts(bytes), "\(bytes)")
        }
        #expect(any.accepts([0x22, 0xC3, 0xA9, 0x22]))
    }

    @Test func jsonObjectAcceptsOnlyAnObjectAtTheTop() throws {
        let object = try JSONGrammar(.anyObject)
        #expect(object.accepts(Array(#"{"a": [1, {"b": null}]}"#.utf8)))
        for text in ["[1]", "\"a\"", "1", "null"] { #expect(!object.accepts(Array(text.utf8)), "\(text)") }
    }

    @Test func prefixesOfValidTextAreAcceptedAsPrefixes() throws {
        let any = try JSONGrammar(.any)
        let text = Array(#"{"a": [1.5, "x\u00e9"], "b": true}"#.utf8)
        for end in 0...text.count { #expect(any.acceptsPrefix(text[..<end])) }
        #expect(!any.acceptsPrefix(Array("{]".utf8)))
    }

    static let person = JSONSchema.object([
        JSONSchemaProperty(name: "name", schema: .string),
        JSONSchemaProperty(name: "age", schema: .integer),
        JSONSchemaProperty(name: "nickname", schema: .anyOf([.string, .null]), required: false),
        JSONSchemaProperty(name: "tags", schema: .array(items: .literals(["\"a\"", "\"b\""]), minItems: 1, maxItems: 2), required: false),
        JSONSchemaProperty(name: "ratio", schema: .number, required: false),
        JSONSchemaProperty(name: "na\"me\n", schema: .boolean, required: false),
    ])

    @Test(arguments: [
        (#"{"name": "Ann", "age": 30}"#, true),
        (#"{"age": 30, "name": "Ann"}"#, true),
        (#"{"name": "Ann", "age": 30, "nickname": null, "tags": ["b", "a"], "ratio": -0.5e1, "na\"me\n": true}"#, true),
        (#"{"name": "Ann"}"#, false),                              // a required property missing
        (#"{"name": "Ann", "age": 30, "extra": 1}"#, false),       // not a property
        (#"{"name": "Ann", "age": 30, "name": "Bo"}"#, false),     // twice
        (#"{"name": "Ann", "age": 30.5}"#, false),                 // not an integer
        (#"{"name": "Ann", "age": 1e3}"#, false),
        (#"{"name": 1, "age": 30}"#, false),
        (#"{"name": "Ann", "age": 30, "tags": []}"#, false),       // minItems
        (#"{"name": "Ann", "age": 30, "tags": ["a", "a", "b"]}"#, false),   // maxItems
        (#"{"name": "Ann", "age": 30, "tags": ["c"]}"#, false),    // not in the enum
        (#"{"name": "Ann", "age": 30, "nickname": 3}"#, false),
        (#"{"nam": "Ann", "age": 30}"#, false),
        (#"[]"#, false),
    ])
    func schemaCases(_ text: String, _ valid: Bool) throws {
        #expect(try JSONGrammar(Self.person).accepts(Array(text.utf8)) == valid)
    }

    @Test func literalsCoverEnumsConstAndNumbersThatPrefixEachOther() throws {
        let grammar = try JSONGrammar(.literals(["1", "12", "\"a\"", "{\"k\":[1,2]}", "null"]))
        for text in ["1", "12", "\"a\"", "{\"k\":[1,2]}", "null"] { #expect(grammar.accepts(Array(text.utf8)), "\(text)") }
        for text in ["123", "2", "\"b\"", "{\"k\": [1,2]}", "nul", "1 "] { #expect(!grammar.accepts(Array(text.utf8)), "\(text)") }
    }

    @Test func arraysOfObjectsNestDeeply() throws {
        var schema = JSONSchema.integer
        for depth in 0..<20 { schema = depth.isMultiple(of: 2) ? .array(items: schema) : .object([JSONSchemaProperty(name: "v", schema: schema)]) }
        var text = "1"
        for depth in 0..<20 { text = depth.isMultiple(of: 2) ? "[\(text)]" : "{\"v\":\(text)}" }
        #expect(try JSONGrammar(schema).accepts(Array(text.utf8)))
    }

    @Test func anyOfMergesAlternativesOfOneKind() throws {
        #expect(try JSONSchema.mergedAnyOf([.integer, .number, .null]) == .anyOf([.number, .null]))
        #expect(try JSONSchema.mergedAnyOf([.string, .literals(["\"x\"", "true"])]) == .anyOf([.string, .literals(["true"])]))
        #expect(try JSONSchema.mergedAnyOf([.literals(["1"]), .anyOf([.literals(["2"]), .boolean])]) == .literals(["1", "2", "true", "false"]))
        #expect(try JSONSchema.mergedAnyOf([.string, .any]) == .any)
        let grammar = try JSONGrammar(.anyOf([.string, .null, .array(items: .integer)]))
        for text in ["\"s\"", "null", "[1, 2]"] { #expect(grammar.accepts(Array(text.utf8))) }
        #expect(!grammar.accepts(Array("1".utf8)))
    }

    @Test func anyOfAlternativesThatStartAlikeAreRefusedByName() throws {
        let error = #expect(throws: JSONSchemaError.self) {
            try JSONSchema.mergedAnyOf([.object([]), .object([JSONSchemaProperty(name: "a", schema: .string)])])
        }
        #expect(error?.message.contains("'{'") == true, "\(String(describing: error))")
        #expect(throws: JSONSchemaError.self) { try JSONSchema.mergedAnyOf([.integer, .literals(["1.5"])]) }
        #expect(throws: JSONSchemaError.self) { try JSONSchema.mergedAnyOf([]) }
    }

    @Test func schemasTheAutomatonCannotEnforceAreRefused() throws {
        let many = (0...JSONSchema.maxProperties).map { JSONSchemaProperty(name: "p\($0)", schema: .string) }
        let cases: [(JSONSchema, String)] = [
            (.object(many), "at most 64 properties"),
            (.object([JSONSchemaProperty(name: "a", schema: .string), JSONSchemaProperty(name: "a", schema: .number)]), "listed twice"),
            (.array(items: .string, minItems: 3, maxItems: 2), "maxItems"),
            (.literals([]), "at least one value"),
            (.literals(["{"]), "not compact JSON"),
            (.literals([" 1"]), "not compact JSON"),
        ]
        for (schema, words) in cases {
            let error = #expect(throws: JSONSchemaError.self) { try JSONGrammar(schema) }
            #expect(error?.message.contains(words) == true, "\(String(describing: error)) should say \(words)")
        }
    }
}
