"""response_format through the official openai client on the real model: a json_schema chat
answers JSON that json.loads parses and that has the schema's keys and types, greedy and sampled
(n = 2, with an adapter), whole and streamed."""

import json

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "pets": {"type": "array", "items": {"type": "string", "enum": ["cat", "dog", "fish"]}, "maxItems": 3},
        "nickname": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["name", "age", "pets", "nickname"],
    "additionalProperties": False,
}
FORMAT = {"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA, "strict": True}}
MESSAGES = [{"role": "user", "content": "Invent a person. Reply in JSON with name, age, pets and nickname."}]


def check(content):
    value = json.loads(content)
    assert set(value) == {"name", "age", "pets", "nickname"}, content
    assert isinstance(value["name"], str) and isinstance(value["age"], int) and not isinstance(value["age"], bool), content
    assert isinstance(value["pets"], list) and len(value["pets"]) <= 3 and all(p in ("cat", "dog", "fish") for p in value["pets"]), content
    assert value["nickname"] is None or isinstance(value["nickname"], str), content


def test_a_json_schema_chat_returns_json_that_matches_the_schema(server):
    greedy = server.client.chat.completions.create(
        model=server.base_model, messages=MESSAGES, max_tokens=200, temperature=0, response_format=FORMAT)
    assert greedy.choices[0].finish_reason == "stop"
    check(greedy.choices[0].message.content)

    sampled = server.client.chat.completions.create(
        model="flora-r4", messages=MESSAGES, max_tokens=200, temperature=0.8, seed=7, n=2, response_format=FORMAT)
    for choice in sampled.choices:
        assert choice.finish_reason == "stop"
        check(choice.message.content)


def test_a_streamed_json_object_chat_joins_into_an_object(server):
    # A prompt whose greedy answer is a short object with the exact and the int8 products alike
    # ("Reply in JSON: what is 2+2?" nests objects until max_tokens with int8 activations).
    stream = server.client.chat.completions.create(
        model=server.base_model, messages=[{"role": "user", "content": 'Reply in JSON with the key "answer": what is 2+2?'}], max_tokens=200,
        temperature=0, stream=True, response_format={"type": "json_object"})
    pieces, reason = [], None
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
            reason = chunk.choices[0].finish_reason or reason
    assert reason == "stop"
    assert isinstance(json.loads("".join(pieces)), dict)
