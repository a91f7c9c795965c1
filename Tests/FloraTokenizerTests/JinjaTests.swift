// The Jinja subset against Jinja2's own output (JinjaReferenceCases.swift), and its errors.

import Testing
import FloraTokenizer

@Suite("Jinja chat-template interpreter")
struct JinjaTests {
    @Test("Templates render exactly as Jinja2 renders them", arguments: jinjaReferenceCases)
    func rendersLikeJinja2(_ reference: JinjaReferenceCase) throws {
        let template = try JinjaTemplate(reference.template)
        if let expected = reference.expected {
            #expect(try template.render(reference.context) == expected)
        } else {
            #expect {
                try template.render(reference.context)
            } throws: { error in
                (error as? JinjaError)?.kind == .raised && (error as? JinjaError)?.message == reference.raisedMessage
            }
        }
    }

    @Test("Syntax errors name the problem and the line", arguments: [
        ("{% if x %}unclosed", "endif"),
        ("line one\n{{ 1 + }}", "line 2"),
        ("{% for x %}{% endfor %}", "in"),
        ("{% frobnicate %}", "frobnicate"),
        ("{{ 'unterminated }}", "unclosed string"),
        ("{% endfor %}", "endfor"),
    ])
    func syntaxErrors(_ source: String, _ fragment: String) {
        #expect {
            try JinjaTemplate(source)
        } throws: { error in
            guard let error = error as? JinjaError, error.kind == .syntax else { return false }
            return error.description.contains(fragment)
        }
    }

    @Test("Rendering errors are thrown, not ignored", arguments: [
        "{{ 1 + 'a' }}", "{{ x | no_such_filter }}", "{{ 1 is no_such_test }}", "{% for x in 3 %}{% endfor %}",
        "{{ 1 / 0 }}", "{% set x = 1 %}{% set x.y = 2 %}",
    ])
    func renderErrors(_ source: String) throws {
        let template = try JinjaTemplate(source)
        #expect(throws: JinjaError.self) { try template.render([:]) }
    }

    @Test("Runaway recursion is stopped")
    func recursionLimit() throws {
        let template = try JinjaTemplate("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
        #expect(throws: JinjaError.self) { try template.render([:]) }
    }
}

@Suite("Chat templates")
struct ChatTemplateTests {
    static func tokenizer(template: String?) throws -> Tokenizer {
        try TinyVocabulary.tokenizer(added: [("<s>", true), ("</s>", true), ("<|im_start|>", true), ("<|im_end|>", true)],
                                     bos: "<s>", eos: "</s>", chatTemplate: template)
    }

    @Test("A model without a template gets plain ChatML")
    func chatMLFallback() throws {
        let tokenizer = try Self.tokenizer(template: nil)
        let text = try tokenizer.applyChatTemplate(
            messages: [ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "U")], addGenerationPrompt: true)
        #expect(text == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test("The template sees bos_token, eos_token and add_generation_prompt")
    func templateVariables() throws {
        let tokenizer = try Self.tokenizer(template: "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}>{% endif %}")
        let messages = [ChatMessage(role: "user", content: "hi")]
        #expect(try tokenizer.applyChatTemplate(messages: messages, addGenerationPrompt: true) == "<s>user:hi</s>>")
        #expect(try tokenizer.applyChatTemplate(messages: messages, addGenerationPrompt: false) == "<s>user:hi</s>")
    }

    @Test("A template that does not parse makes applyChatTemplate throw, not the tokenizer's construction")
    func brokenTemplateThrows() throws {
        let tokenizer = try Self.tokenizer(template: "{% for m in messages %}")
        #expect(tokenizer.encode("ok") == [TokenID(UInt8(ascii: "o")), TokenID(UInt8(ascii: "k"))])
        #expect(throws: JinjaError.self) {
            try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: "x")], addGenerationPrompt: true)
        }
    }

    @Test("A template's raise_exception reaches the caller with its message")
    func raisedException() throws {
        let tokenizer = try Self.tokenizer(template: "{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}")
        #expect {
            try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "assistant", content: "x")], addGenerationPrompt: true)
        } throws: { error in
            (error as? JinjaError) == JinjaError(.raised, "first must be user", line: 1)
        }
    }
}
