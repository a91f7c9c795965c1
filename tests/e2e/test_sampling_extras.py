"""vLLM's and OpenAI's sampling extras on the real model through the official openai client:
ignore_eos with min_tokens, logit_bias, chat top_logprobs and best_of (fields the client does
not know go in `extra_body`)."""

import json

import openai
import pytest

from test_openai_client import post


def test_ignore_eos_and_min_tokens_give_exactly_max_tokens(server):
    # A one-word answer ends after a few tokens unless the end of turn is ignored and held off.
    messages = [{"role": "user", "content": "Answer with one word: yes or no?"}]
    short = server.client.chat.completions.create(model=server.base_model, messages=messages, max_tokens=40, temperature=0)
    assert short.usage.completion_tokens < 40 and short.choices[0].finish_reason == "stop"
    long = server.client.chat.completions.create(
        model=server.base_model, messages=messages, max_tokens=40, temperature=0,
        extra_body={"ignore_eos": True, "min_tokens": 40})
    assert long.usage.completion_tokens == 40
    assert long.choices[0].finish_reason == "length"


def test_a_logit_bias_of_100_makes_that_token_come_out_greedily(server):
    status, body = post(server, "/tokenize", {"prompt": " ocean", "add_special_tokens": False})
    assert status == 200, body
    token = json.loads(body)["tokens"][-1]
    status, body = post(server, "/detokenize", {"tokens": [token]})
    piece = json.loads(body)["prompt"]
    result = server.client.completions.create(
        model=server.base_model, prompt="The capital of France is", max_tokens=3, temperature=0, logit_bias={str(token): 100})
    assert result.choices[0].text == piece * 3


def test_chat_top_logprobs_have_openais_shape(server):
    result = server.client.chat.completions.create(
        model=server.base_model, messages=[{"role": "user", "content": "Name a colour."}], max_tokens=5, temperature=0,
        logprobs=True, top_logprobs=3)
    content = result.choices[0].logprobs.content
    assert len(content) == result.usage.completion_tokens
    for entry in content:
        assert isinstance(entry.token, str) and entry.logprob <= 0 and isinstance(entry.bytes, list)
        assert len(entry.top_logprobs) == 3
        assert all(isinstance(top.token, str) and isinstance(top.bytes, list) for top in entry.top_logprobs)
        assert entry.top_logprobs[0].token == entry.token and entry.top_logprobs[0].logprob == entry.logprob
    with pytest.raises(openai.BadRequestError) as caught:
        server.client.chat.completions.create(
            model=server.base_model, messages=[{"role": "user", "content": "x"}], max_tokens=2, top_logprobs=2)
    assert caught.value.body["param"] == "top_logprobs"


def test_best_of_returns_n_choices_most_likely_first(server):
    result = server.client.completions.create(
        model=server.base_model, prompt="My favourite animal is", max_tokens=8, temperature=1.0, seed=3, n=2, best_of=4, logprobs=0)
    assert [choice.index for choice in result.choices] == [0, 1]
    scores = [sum(choice.logprobs.token_logprobs) for choice in result.choices]
    assert scores[0] >= scores[1]
    with pytest.raises(openai.BadRequestError) as caught:
        server.client.completions.create(model=server.base_model, prompt="x", max_tokens=2, n=1, best_of=2, stream=True)
    assert caught.value.body["param"] == "best_of"
