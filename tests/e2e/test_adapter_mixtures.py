"""Flora's adapter mixtures through the official openai client (`extra_body`): a scale of 0 is
the base model, 1 the adapter, and a weighted list is served; a mixture naming an unknown
adapter is a 404 that names it."""

import openai
import pytest

MESSAGES = [{"role": "user", "content": "Write one sentence about the sea."}]


def chat(server, model, extra=None):
    result = server.client.chat.completions.create(
        model=model, messages=MESSAGES, max_tokens=16, temperature=0, extra_body=extra or {})
    return result.choices[0].message.content


@pytest.mark.parametrize("adapter", ["flora-r4", "lora-r8", "ia3"])
def test_adapter_scale_goes_from_the_base_model_to_the_adapter(server, adapter):
    base = chat(server, server.base_model)
    full = chat(server, adapter)
    assert chat(server, adapter, {"adapter_scale": 0}) == base
    assert chat(server, adapter, {"adapter_scale": 1}) == full
    assert chat(server, server.base_model, {"adapters": [{"name": adapter, "weight": 1}]}) == full


def test_a_weighted_mixture_is_served_and_an_unknown_part_is_named(server):
    half = chat(server, server.base_model, {"adapters": [{"name": "flora-r4", "weight": 0.5}]})
    assert isinstance(half, str) and half
    with pytest.raises(openai.NotFoundError) as error:
        chat(server, server.base_model, {"adapters": [{"name": "flora-r4", "weight": 0.5}, {"name": "nope", "weight": 0.5}]})
    assert "nope" in str(error.value)
