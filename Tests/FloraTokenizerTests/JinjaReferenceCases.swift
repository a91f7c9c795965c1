// Generated with Jinja2 3.1.6 configured as Hugging Face transformers renders chat templates
// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, `raise_exception`,
// `tojson` = json.dumps(ensure_ascii=False)): each case's expected text is Jinja2's own output,
// or, for a template that raises, the message it raised. The Llama 3, Mistral and Qwen2.5
// templates are those published with the models.

import FloraTokenizer
import Testing

struct JinjaReferenceCase: Sendable, CustomTestStringConvertible {
    var name: String
    var template: String
    var context: [String: JinjaValue]
    /// The rendered text, or nil when the template raises `raisedMessage`.
    var expected: String?
    var raisedMessage: String?
    var testDescription: String { name }
}

let jinjaReferenceCases: [JinjaReferenceCase] = [
    JinjaReferenceCase(
        name: "Llama 3 template, system and two turns",
        template: "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\u{A}\u{A}'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\u{A}\u{A}' }}{% endif %}",
        context: ["bos_token": .string("<|begin_of_text|>"), "eos_token": .string("<|eot_id|>"), "add_generation_prompt": .bool(true), "messages": .array([.dictionary([("role", .string("system")), ("content", .string("You are terse."))]), .dictionary([("role", .string("user")), ("content", .string("  Hi there!  "))]), .dictionary([("role", .string("assistant")), ("content", .string("Hello."))]), .dictionary([("role", .string("user")), ("content", .string("2+2?"))])])],
        expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\u{A}\u{A}You are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\u{A}\u{A}Hi there!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\u{A}\u{A}Hello.<|eot_id|><|start_header_id|>user<|end_header_id|>\u{A}\u{A}2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\u{A}\u{A}",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "Llama 3 template without generation prompt",
        template: "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\u{A}\u{A}'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\u{A}\u{A}' }}{% endif %}",
        context: ["bos_token": .string("<|begin_of_text|>"), "eos_token": .string("</s>"), "add_generation_prompt": .bool(false), "messages": .array([.dictionary([("role", .string("system")), ("content", .string("You are terse."))]), .dictionary([("role", .string("user")), ("content", .string("  Hi there!  "))])])],
        expected: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\u{A}\u{A}You are terse.<|eot_id|><|start_header_id|>user<|end_header_id|>\u{A}\u{A}Hi there!<|eot_id|>",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "Mistral template, alternating turns",
        template: "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
        context: ["bos_token": .string("<s>"), "eos_token": .string("</s>"), "add_generation_prompt": .bool(true), "messages": .array([.dictionary([("role", .string("user")), ("content", .string("Hi"))]), .dictionary([("role", .string("assistant")), ("content", .string("Hello!"))]), .dictionary([("role", .string("user")), ("content", .string("Bye"))])])],
        expected: "<s>[INST] Hi [/INST]Hello!</s>[INST] Bye [/INST]",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "Mistral template rejects a system message",
        template: "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}",
        context: ["bos_token": .string("<s>"), "eos_token": .string("</s>"), "add_generation_prompt": .bool(true), "messages": .array([.dictionary([("role", .string("system")), ("content", .string("You are terse."))]), .dictionary([("role", .string("user")), ("content", .string("  Hi there!  "))]), .dictionary([("role", .string("assistant")), ("content", .string("Hello."))]), .dictionary([("role", .string("user")), ("content", .string("2+2?"))])])],
        expected: nil,
        raisedMessage: "Conversation roles must alternate user/assistant/user/assistant/..."),
    JinjaReferenceCase(
        name: "Qwen2.5 template with tools and tool calls",
        template: "{%- if tools %}\u{A}    {{- '<|im_start|>system\\n' }}\u{A}    {%- if messages[0]['role'] == 'system' %}\u{A}        {{- messages[0]['content'] }}\u{A}    {%- else %}\u{A}        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\u{A}    {%- endif %}\u{A}    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\u{A}    {%- for tool in tools %}\u{A}        {{- \"\\n\" }}\u{A}        {{- tool | tojson }}\u{A}    {%- endfor %}\u{A}    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\u{A}{%- else %}\u{A}    {%- if messages[0]['role'] == 'system' %}\u{A}        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\u{A}    {%- else %}\u{A}        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\u{A}    {%- endif %}\u{A}{%- endif %}\u{A}{%- for message in messages %}\u{A}    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\" and not message.tool_calls) %}\u{A}        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\u{A}    {%- elif message.role == \"assistant\" %}\u{A}        {{- '<|im_start|>' + message.role }}\u{A}        {%- if message.content %}\u{A}            {{- '\\n' + message.content }}\u{A}        {%- endif %}\u{A}        {%- for tool_call in message.tool_calls %}\u{A}            {%- if tool_call.function is defined %}\u{A}                {%- set tool_call = tool_call.function %}\u{A}            {%- endif %}\u{A}            {{- '\\n<tool_call>\\n{\"name\": \"' }}\u{A}            {{- tool_call.name }}\u{A}            {{- '\", \"arguments\": ' }}\u{A}            {{- tool_call.arguments | tojson }}\u{A}            {{- '}\\n</tool_call>' }}\u{A}        {%- endfor %}\u{A}        {{- '<|im_end|>\\n' }}\u{A}    {%- elif message.role == \"tool\" %}\u{A}        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\u{A}            {{- '<|im_start|>user' }}\u{A}        {%- endif %}\u{A}        {{- '\\n<tool_response>\\n' }}\u{A}        {{- message.content }}\u{A}        {{- '\\n</tool_response>' }}\u{A}        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\u{A}            {{- '<|im_end|>\\n' }}\u{A}        {%- endif %}\u{A}    {%- endif %}\u{A}{%- endfor %}\u{A}{%- if add_generation_prompt %}\u{A}    {{- '<|im_start|>assistant\\n' }}\u{A}{%- endif %}\u{A}",
        context: ["bos_token": .string("<s>"), "eos_token": .string("</s>"), "add_generation_prompt": .bool(true), "messages": .array([.dictionary([("role", .string("user")), ("content", .string("Weather in Paris?"))]), .dictionary([("role", .string("assistant")), ("content", .string("")), ("tool_calls", .array([.dictionary([("type", .string("function")), ("function", .dictionary([("name", .string("get_weather")), ("arguments", .dictionary([("city", .string("Paris"))]))]))])]))]), .dictionary([("role", .string("tool")), ("content", .string("{\"temp\": 21}"))]), .dictionary([("role", .string("tool")), ("content", .string("sunny"))]), .dictionary([("role", .string("assistant")), ("content", .string("It is 21 \u{B0}C and sunny."))])]), "tools": .array([.dictionary([("type", .string("function")), ("function", .dictionary([("name", .string("get_weather")), ("description", .string("Weather for a city")), ("parameters", .dictionary([("type", .string("object")), ("properties", .dictionary([("city", .dictionary([("type", .string("string"))]))])), ("required", .array([.string("city")]))]))]))])])],
        expected: "<|im_start|>system\u{A}You are Qwen, created by Alibaba Cloud. You are a helpful assistant.\u{A}\u{A}# Tools\u{A}\u{A}You may call one or more functions to assist with the user query.\u{A}\u{A}You are provided with function signatures within <tools></tools> XML tags:\u{A}<tools>\u{A}{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Weather for a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\u{A}</tools>\u{A}\u{A}For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\u{A}<tool_call>\u{A}{\"name\": <function-name>, \"arguments\": <args-json-object>}\u{A}</tool_call><|im_end|>\u{A}<|im_start|>user\u{A}Weather in Paris?<|im_end|>\u{A}<|im_start|>assistant\u{A}<tool_call>\u{A}{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\u{A}</tool_call><|im_end|>\u{A}<|im_start|>user\u{A}<tool_response>\u{A}{\"temp\": 21}\u{A}</tool_response>\u{A}<tool_response>\u{A}sunny\u{A}</tool_response><|im_end|>\u{A}<|im_start|>assistant\u{A}It is 21 \u{B0}C and sunny.<|im_end|>\u{A}<|im_start|>assistant\u{A}",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "Qwen2.5 template without tools",
        template: "{%- if tools %}\u{A}    {{- '<|im_start|>system\\n' }}\u{A}    {%- if messages[0]['role'] == 'system' %}\u{A}        {{- messages[0]['content'] }}\u{A}    {%- else %}\u{A}        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\u{A}    {%- endif %}\u{A}    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\u{A}    {%- for tool in tools %}\u{A}        {{- \"\\n\" }}\u{A}        {{- tool | tojson }}\u{A}    {%- endfor %}\u{A}    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\u{A}{%- else %}\u{A}    {%- if messages[0]['role'] == 'system' %}\u{A}        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\u{A}    {%- else %}\u{A}        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\u{A}    {%- endif %}\u{A}{%- endif %}\u{A}{%- for message in messages %}\u{A}    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\" and not message.tool_calls) %}\u{A}        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\u{A}    {%- elif message.role == \"assistant\" %}\u{A}        {{- '<|im_start|>' + message.role }}\u{A}        {%- if message.content %}\u{A}            {{- '\\n' + message.content }}\u{A}        {%- endif %}\u{A}        {%- for tool_call in message.tool_calls %}\u{A}            {%- if tool_call.function is defined %}\u{A}                {%- set tool_call = tool_call.function %}\u{A}            {%- endif %}\u{A}            {{- '\\n<tool_call>\\n{\"name\": \"' }}\u{A}            {{- tool_call.name }}\u{A}            {{- '\", \"arguments\": ' }}\u{A}            {{- tool_call.arguments | tojson }}\u{A}            {{- '}\\n</tool_call>' }}\u{A}        {%- endfor %}\u{A}        {{- '<|im_end|>\\n' }}\u{A}    {%- elif message.role == \"tool\" %}\u{A}        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\u{A}            {{- '<|im_start|>user' }}\u{A}        {%- endif %}\u{A}        {{- '\\n<tool_response>\\n' }}\u{A}        {{- message.content }}\u{A}        {{- '\\n</tool_response>' }}\u{A}        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\u{A}            {{- '<|im_end|>\\n' }}\u{A}        {%- endif %}\u{A}    {%- endif %}\u{A}{%- endfor %}\u{A}{%- if add_generation_prompt %}\u{A}    {{- '<|im_start|>assistant\\n' }}\u{A}{%- endif %}\u{A}",
        context: ["bos_token": .string("<s>"), "eos_token": .string("</s>"), "add_generation_prompt": .bool(true), "messages": .array([.dictionary([("role", .string("system")), ("content", .string("You are terse."))]), .dictionary([("role", .string("user")), ("content", .string("  Hi there!  "))]), .dictionary([("role", .string("assistant")), ("content", .string("Hello."))]), .dictionary([("role", .string("user")), ("content", .string("2+2?"))])])],
        expected: "<|im_start|>system\u{A}You are terse.<|im_end|>\u{A}<|im_start|>user\u{A}  Hi there!  <|im_end|>\u{A}<|im_start|>assistant\u{A}Hello.<|im_end|>\u{A}<|im_start|>user\u{A}2+2?<|im_end|>\u{A}<|im_start|>assistant\u{A}",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "Qwen2.5 template, no system message",
        template: "{%- if tools %}\u{A}    {{- '<|im_start|>system\\n' }}\u{A}    {%- if messages[0]['role'] == 'system' %}\u{A}        {{- messages[0]['content'] }}\u{A}    {%- else %}\u{A}        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\u{A}    {%- endif %}\u{A}    {{- \"\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>\" }}\u{A}    {%- for tool in tools %}\u{A}        {{- \"\\n\" }}\u{A}        {{- tool | tojson }}\u{A}    {%- endfor %}\u{A}    {{- \"\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\\"name\\\": <function-name>, \\\"arguments\\\": <args-json-object>}\\n</tool_call><|im_end|>\\n\" }}\u{A}{%- else %}\u{A}    {%- if messages[0]['role'] == 'system' %}\u{A}        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\u{A}    {%- else %}\u{A}        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\u{A}    {%- endif %}\u{A}{%- endif %}\u{A}{%- for message in messages %}\u{A}    {%- if (message.role == \"user\") or (message.role == \"system\" and not loop.first) or (message.role == \"assistant\" and not message.tool_calls) %}\u{A}        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\u{A}    {%- elif message.role == \"assistant\" %}\u{A}        {{- '<|im_start|>' + message.role }}\u{A}        {%- if message.content %}\u{A}            {{- '\\n' + message.content }}\u{A}        {%- endif %}\u{A}        {%- for tool_call in message.tool_calls %}\u{A}            {%- if tool_call.function is defined %}\u{A}                {%- set tool_call = tool_call.function %}\u{A}            {%- endif %}\u{A}            {{- '\\n<tool_call>\\n{\"name\": \"' }}\u{A}            {{- tool_call.name }}\u{A}            {{- '\", \"arguments\": ' }}\u{A}            {{- tool_call.arguments | tojson }}\u{A}            {{- '}\\n</tool_call>' }}\u{A}        {%- endfor %}\u{A}        {{- '<|im_end|>\\n' }}\u{A}    {%- elif message.role == \"tool\" %}\u{A}        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != \"tool\") %}\u{A}            {{- '<|im_start|>user' }}\u{A}        {%- endif %}\u{A}        {{- '\\n<tool_response>\\n' }}\u{A}        {{- message.content }}\u{A}        {{- '\\n</tool_response>' }}\u{A}        {%- if loop.last or (messages[loop.index0 + 1].role != \"tool\") %}\u{A}            {{- '<|im_end|>\\n' }}\u{A}        {%- endif %}\u{A}    {%- endif %}\u{A}{%- endfor %}\u{A}{%- if add_generation_prompt %}\u{A}    {{- '<|im_start|>assistant\\n' }}\u{A}{%- endif %}\u{A}",
        context: ["bos_token": .string("<s>"), "eos_token": .string("</s>"), "add_generation_prompt": .bool(false), "messages": .array([.dictionary([("role", .string("user")), ("content", .string("Hi"))]), .dictionary([("role", .string("assistant")), ("content", .string("Hello!"))]), .dictionary([("role", .string("user")), ("content", .string("Bye"))])])],
        expected: "<|im_start|>system\u{A}You are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\u{A}<|im_start|>user\u{A}Hi<|im_end|>\u{A}<|im_start|>assistant\u{A}Hello!<|im_end|>\u{A}<|im_start|>user\u{A}Bye<|im_end|>\u{A}",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "loop variables",
        template: "{% for x in items %}{{ loop.index }}/{{ loop.length }}:{{ x }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}{{ loop.revindex0 }} {% endfor %}",
        context: ["items": .array([.string("a"), .string("b"), .string("c")])],
        expected: "1/3:aF2 2/3:b1 3/3:cL0 ",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "loop filter and else",
        template: "{% for x in items if x > 1 %}{{ x }},{% else %}none{% endfor %}|{% for y in [] %}y{% else %}empty{% endfor %}",
        context: ["items": .array([.int(1), .int(2), .int(3)])],
        expected: "2,3,|empty",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "break and continue",
        template: "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}",
        context: [:],
        expected: "0134",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "set does not leak out of a loop, namespace does",
        template: "{% set n = 0 %}{% set ns = namespace(c=0) %}{% for i in range(3) %}{% set n = n + 1 %}{% set ns.c = ns.c + 1 %}{{ n }}{% endfor %} {{ n }} {{ ns.c }}",
        context: [:],
        expected: "111 0 3",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "trim_blocks and lstrip_blocks",
        template: "<ul>\u{A}    {% for x in items %}\u{A}    <li>{{ x }}</li>\u{A}    {% endfor %}\u{A}</ul>\u{A}",
        context: ["items": .array([.string("a"), .string("b")])],
        expected: "<ul>\u{A}    <li>a</li>\u{A}    <li>b</li>\u{A}</ul>",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "whitespace control modifiers",
        template: "a   {{- ' b ' -}}   c\u{A}  {%- if true %}  d  {% endif -%}\u{A}\u{A}  e {%+ if true %}f{% endif %}\u{A}{# comment #}\u{A}g",
        context: [:],
        expected: "a b c  d  e fg",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "filters on strings",
        template: "{{ '  Hi  ' | trim }}|{{ 'abc' | upper }}|{{ 'ABC' | lower }}|{{ 'hello world' | title }}|{{ 'hello' | capitalize }}|{{ 'a-b-c' | replace('-', '+') }}|{{ 'abc' | length }}|{{ 'h\u{E9}llo' | length }}",
        context: [:],
        expected: "Hi|ABC|abc|Hello World|Hello|a+b+c|3|5",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "filters on lists",
        template: "{{ items | length }} {{ items | first }} {{ items | last }} {{ items | join(', ') }} {{ items | reverse | join }} {{ items | sort | join }} {{ [3, 1, 2] | max }} {{ [1,1,2] | unique | list }} {{ [1, 2, 3] | sum }}",
        context: ["items": .array([.string("b"), .string("c"), .string("a")])],
        expected: "3 b a b, c, a acb abc 3 [1, 2] 6",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "default filter and defined tests",
        template: "{{ missing | default('x') }} {{ none_value is none }} {{ missing is defined }} {{ items is defined }} {{ '' | default('e', true) }} {{ 3 is odd }} {{ 4 is divisibleby 2 }} {{ 'a' is string }} {{ items is mapping }}",
        context: ["items": .array([.int(1)]), "none_value": .none],
        expected: "x True False True e True True True False",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "tojson",
        template: "{{ data | tojson }}|{{ data | tojson(indent=2) }}|{{ '\u{E9}\"\\n' | tojson }}|{{ [1, 2.5, true, none] | tojson }}",
        context: ["data": .dictionary([("b", .int(1)), ("a", .array([.int(1), .string("x"), .dictionary([("k", .none)])])), ("c", .dictionary([]))])],
        expected: "{\"b\": 1, \"a\": [1, \"x\", {\"k\": null}], \"c\": {}}|{\u{A}  \"b\": 1,\u{A}  \"a\": [\u{A}    1,\u{A}    \"x\",\u{A}    {\u{A}      \"k\": null\u{A}    }\u{A}  ],\u{A}  \"c\": {}\u{A}}|\"\u{E9}\\\"\\n\"|[1, 2.5, true, null]",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "dict access, items and methods",
        template: "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d['a'] }}{{ d.b }}{{ d.get('z', 'none') }}{{ d.keys() | list }}",
        context: ["d": .dictionary([("a", .int(1)), ("b", .string("two"))])],
        expected: "a=1;b=two;1twonone['a', 'b']",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "string methods",
        template: "{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip().startswith('He') }}|{{ s.strip().endswith('!') }}|{{ s.split() }}|{{ 'a,b,,c'.split(',') }}|{{ s.upper() }}|{{ '-'.join(['x','y']) }}|{{ s.replace('l', 'L') }}",
        context: ["s": .string("  Hello world!  ")],
        expected: "Hello world!|Hello world!  |  Hello world!|True|True|['Hello', 'world!']|['a', 'b', '', 'c']|  HELLO WORLD!  |x-y|  HeLLo worLd!  ",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "arithmetic and comparisons",
        template: "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 1 < 2 < 3 }} {{ 3 > 2 >= 2 }} {{ 1 == 1.0 }} {{ 'a' ~ 1 ~ none }} {{ 'ab' * 2 }} {{ -3 }} {{ 10 - 2 - 3 }}",
        context: [:],
        expected: "3 -4 1 2 3.5 1024 7 9 True True True a1None abab -3 5",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "boolean operators return operands",
        template: "{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ not 0 }} {{ none or [] }} {{ 'y' if 1 else 'n' }} {{ 'y' if 0 else 'n' }} [{{ 'y' if 0 }}]",
        context: [:],
        expected: "x b True [] y n []",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "in and not in",
        template: "{{ 'a' in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in d }} {{ 'z' not in d }} {{ 3 not in [1] }}",
        context: ["d": .dictionary([("k", .int(1))])],
        expected: "True True True True True",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "slicing and negative indexes",
        template: "{{ items[1:] }} {{ items[:2] }} {{ items[::-1] }} {{ items[-1] }} {{ 'hello'[1:3] }} {{ 'hello'[-1] }} {{ items[1:-1] }}",
        context: ["items": .array([.int(1), .int(2), .int(3), .int(4)])],
        expected: "[2, 3, 4] [1, 2] [4, 3, 2, 1] 4 el o [2, 3]",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "macros",
        template: "{% macro greet(name, punct='!') %}Hello {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', '?') }} {{ greet(name='Cy') }}",
        context: [:],
        expected: "Hello Ann! Hello Bob? Hello Cy!",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "set block and filter block",
        template: "{% set x %}inner {{ 1 + 1 }}{% endset %}[{{ x }}]{% filter upper %}shout {{ x }}{% endfilter %}",
        context: [:],
        expected: "[inner 2]SHOUT INNER 2",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "string literals and escapes",
        template: "{{ 'it\\'s' }} {{ \"say \\\"hi\\\"\" }} {{ 'tab\\there' }} {{ 'a' 'b' }} {{ '\\u00e9' }}",
        context: [:],
        expected: "it's say \"hi\" tab\u{9}here ab \u{E9}",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "printing values",
        template: "{{ [1, 'a', none, true, 2.5] }} {{ {'k': 'v'} }} {{ none }} {{ true }} {{ 1.0 }} {{ missing }}|",
        context: [:],
        expected: "[1, 'a', None, True, 2.5] {'k': 'v'} None True 1.0 |",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "selectattr, map and rejectattr",
        template: "{{ msgs | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(',') }} {{ msgs | rejectattr('role', 'equalto', 'user') | list | length }} {{ msgs | map(attribute='role') | unique | list }}",
        context: ["msgs": .array([.dictionary([("role", .string("user")), ("content", .string("a"))]), .dictionary([("role", .string("bot")), ("content", .string("b"))]), .dictionary([("role", .string("user")), ("content", .string("c"))])])],
        expected: "a,c 1 ['user', 'bot']",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "if elif else chain",
        template: "{% for x in [1, 2, 3, 4] %}{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}many{% endif %} {% endfor %}",
        context: [:],
        expected: "one two three many ",
        raisedMessage: nil),
    JinjaReferenceCase(
        name: "messages with system extraction",
        template: "{% if messages[0]['role'] == 'system' %}{% set sys = messages[0]['content'] %}{% set rest = messages[1:] %}{% else %}{% set sys = 'default' %}{% set rest = messages %}{% endif %}[{{ sys }}]{% for m in rest %}<{{ m.role }}>{{ m.content }}{% endfor %}",
        context: ["messages": .array([.dictionary([("role", .string("system")), ("content", .string("You are terse."))]), .dictionary([("role", .string("user")), ("content", .string("  Hi there!  "))]), .dictionary([("role", .string("assistant")), ("content", .string("Hello."))]), .dictionary([("role", .string("user")), ("content", .string("2+2?"))])])],
        expected: "[You are terse.]<user>  Hi there!  <assistant>Hello.<user>2+2?",
        raisedMessage: nil),
]
