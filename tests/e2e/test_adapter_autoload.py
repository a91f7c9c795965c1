"""An adapter folder copied into --adapter-dir while the server runs is listed and served without
a call or a restart, and forgotten once removed (so later tests see the directory as at start)."""

import shutil

import openai
import pytest


def chat(server, model):
    return server.client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Name a colour."}], max_tokens=12, temperature=0)


def test_a_folder_copied_in_is_listed_served_and_forgotten_when_removed(server):
    copied = server.adapter_path("arrived-ia3")
    shutil.copytree(server.adapter_path("ia3"), copied)
    try:
        listed = {model.id: model for model in server.client.models.list().data}
        assert "arrived-ia3" in listed
        assert listed["arrived-ia3"].model_extra["parent"] == server.base_model

        answer = chat(server, "arrived-ia3")
        assert answer.model == "arrived-ia3"
        assert answer.choices[0].message.content == chat(server, "ia3").choices[0].message.content, "the same weights"
    finally:
        shutil.rmtree(copied)

    assert "arrived-ia3" not in [model.id for model in server.client.models.list().data]
    with pytest.raises(openai.NotFoundError):
        chat(server, "arrived-ia3")
