"""The tiny models' tokenizer is built in code, deterministically, and needs nothing from the wheel."""

from __future__ import annotations

import pytest

from core.data.prompts import letter_ids, prompt_ids
from core.models import loader, tiny_tokenizer
from core.models.text import encode
from core.raters.judge import digit_ids


def test_two_trainings_give_the_same_tokenizer():
    assert tiny_tokenizer._train().to_str() == tiny_tokenizer._train().to_str()


def test_building_tiny_models_never_reads_the_embedded_model(monkeypatch: pytest.MonkeyPatch):
    from core.models.tiny import build_tiny

    def refuse(*_args, **_kwargs):
        raise AssertionError("the tiny models must not need the embedded model's wheel")

    monkeypatch.setattr(loader, "embedded_dir", refuse)
    monkeypatch.setattr(loader, "gguf_path", refuse)
    model, tok = build_tiny("llama")
    assert model.config.vocab_size == len(tok) < 2048


def test_answer_tokens_are_single_and_the_template_is_chatml():
    tok = tiny_tokenizer.tiny_tokenizer()
    assert len(set(letter_ids(tok))) == 2 and len(set(digit_ids(tok))) == 3
    ids = prompt_ids(tok, "A man drops his wallet. What do you do?")
    text = tok.decode(ids)
    assert text.startswith("<|im_start|>user\n") and text.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert tok.eos_token == tok.pad_token == "<|im_end|>"


def test_response_weights_cover_exactly_the_response_characters():
    tok = tiny_tokenizer.tiny_tokenizer()
    response = "I stop, kneel and ask: are you hurt?"
    item = encode(tok, "What do you do?", response, "response_mean", True, 256)
    kept = [i for i, w in zip(item.ids, item.weights, strict=True) if w > 0]
    # a token that is only a space has an empty (trimmed) offset span and is left out, as with the embedded
    # model's byte-level BPE; every visible character of the response is pooled, nothing of the template
    assert tok.decode(kept).replace(" ", "") == response.replace(" ", "")
