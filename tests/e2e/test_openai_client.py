"""The server through the official openai client: completions and chat, streamed and not,
three adapters and the base model at once, each greedy output equal to `flora generate`'s."""

import json
import urllib.error
import urllib.request

import openai
import pytest

from conftest import ADAPTERS, run_threads

PROMPTS = ["The sea is", "Write one sentence about a lighthouse.", "List three colours:", "Once upon a time"]
USES = ["base", *ADAPTERS]   # base model and every adapter, one per prompt


def model_name(server, use):
    return server.base_model if use == "base" else use


def post(server, path, body):
    request = urllib.request.Request(server.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_models_lists_the_base_model_and_every_adapter(server):
    models = server.client.models.list().data
    ids = [model.id for model in models]
    assert ids[0] == server.base_model
    assert sorted(ids[1:]) == sorted(ADAPTERS)
    for model in models[1:]:
        assert model.model_extra["parent"] == server.base_model
        assert model.model_extra["root"].endswith("/" + model.id)


def test_concurrent_greedy_completions_equal_flora_generate(server, generate):
    expected = generate(PROMPTS, USES)
    calls = [
        (lambda p=p, u=u: server.client.completions.create(model=model_name(server, u), prompt=p, max_tokens=16, temperature=0))
        for p, u in zip(PROMPTS, USES)
    ]
    results = run_threads(calls)
    for result, want, use in zip(results, expected, USES):
        assert not isinstance(result, Exception), f"{use}: {result!r}"
        assert result.choices[0].text == want["text"], use
        assert result.choices[0].finish_reason == want["finish_reason"]
        assert result.usage.prompt_tokens == len(want["prompt_ids"])
        assert result.usage.completion_tokens == len(want["token_ids"])


def test_concurrent_streamed_chats_equal_flora_generate(server, generate):
    expected = generate(PROMPTS, USES, chat=True)

    def chat(prompt, use):
        stream = server.client.chat.completions.create(
            model=model_name(server, use), messages=[{"role": "user", "content": prompt}], max_tokens=16, temperature=0,
            stream=True, stream_options={"include_usage": True})
        chunks = list(stream)
        return chunks

    results = run_threads([(lambda p=p, u=u: chat(p, u)) for p, u in zip(PROMPTS, USES)])
    for chunks, want, use in zip(results, expected, USES):
        assert not isinstance(chunks, Exception), f"{use}: {chunks!r}"
        assert chunks[0].choices[0].delta.role == "assistant"
        assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
        assert text == want["text"], use
        finishes = [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
        assert finishes == [want["finish_reason"]]
        assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(want["token_ids"])


def test_whole_chat_and_streamed_completion_agree_with_their_other_form(server):
    for use in USES:
        model = model_name(server, use)
        whole = server.client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi!"}], max_tokens=12, temperature=0)
        streamed = server.client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Hi!"}], max_tokens=12, temperature=0, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == whole.choices[0].message.content
        assert whole.choices[0].message.role == "assistant"
        assert whole.usage.total_tokens == whole.usage.prompt_tokens + whole.usage.completion_tokens

        plain = server.client.completions.create(model=model, prompt="Tides", max_tokens=10, temperature=0)
        pieces = server.client.completions.create(model=model, prompt="Tides", max_tokens=10, temperature=0, stream=True)
        assert "".join(c.choices[0].text for c in pieces if c.choices) == plain.choices[0].text


def test_adapters_change_the_output(server):
    texts = {
        use: server.client.completions.create(model=model_name(server, use), prompt="My favourite food is", max_tokens=12, temperature=0).choices[0].text
        for use in USES
    }
    assert len(set(texts.values())) > 1, texts


def test_load_use_and_unload_an_adapter(server):
    status, body = post(server, "/v1/load_lora_adapter", {"lora_name": "extra", "lora_path": "later/extra"})
    assert status == 200, body
    assert "extra" in [model.id for model in server.client.models.list().data]
    result = server.client.completions.create(model="extra", prompt="Hello", max_tokens=4, temperature=0)
    assert result.usage.completion_tokens == 4
    status, body = post(server, "/v1/unload_lora_adapter", {"lora_name": "extra"})
    assert status == 200, body
    with pytest.raises(openai.NotFoundError):
        server.client.completions.create(model="extra", prompt="Hello", max_tokens=4)
    status, body = post(server, "/v1/unload_lora_adapter", {"lora_name": "extra"})
    assert status == 404 and json.loads(body)["error"]["type"] == "NotFoundError"
    status, body = post(server, "/v1/load_lora_adapter", {"lora_name": "escape", "lora_path": "/etc"})
    assert status == 403, body


def test_errors_reach_the_client_as_openai_errors(server):
    with pytest.raises(openai.NotFoundError):
        server.client.completions.create(model="no-such-model", prompt="x")
    with pytest.raises(openai.BadRequestError) as caught:
        server.client.completions.create(model=server.base_model, prompt="x", max_tokens=100_000)
    assert caught.value.body["param"] == "max_tokens"
    with pytest.raises(openai.BadRequestError):
        server.client.chat.completions.create(model=server.base_model, messages=[], max_tokens=4)


def test_tokenize_and_detokenize(server):
    status, body = post(server, "/tokenize", {"prompt": "The sea is"})
    assert status == 200
    tokens = json.loads(body)
    assert tokens["count"] == len(tokens["tokens"]) > 0
    status, body = post(server, "/detokenize", {"tokens": tokens["tokens"]})
    assert json.loads(body)["prompt"] == "The sea is"
