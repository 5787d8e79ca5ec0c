"""Pooling covers the response tokens only: no template tokens, no attention-sink first token."""

from __future__ import annotations

import pytest

from core.models.text import encode, length_buckets, render

RESPONSE = "I kneel beside him and ask what happened."


@pytest.fixture(scope="module")
def tokenizer(embedded):
    return embedded.tokenizer


def _pooled_text(tok, enc):
    return tok.decode([i for i, w in zip(enc.ids, enc.weights, strict=True) if w > 0])


def test_response_mean_pools_exactly_the_response(tokenizer):
    enc = encode(tokenizer, "A man fell.", RESPONSE, "response_mean", True, 256)
    assert _pooled_text(tokenizer, enc) == RESPONSE
    assert enc.weights[0] == 0.0  # the attention-sink first token is never pooled
    specials = set(tokenizer.all_special_ids)
    assert all(w == 0 for i, w in zip(enc.ids, enc.weights, strict=True) if i in specials)
    assert sum(enc.weights) == pytest.approx(1.0)


def test_last_token_is_the_last_response_token(tokenizer):
    enc = encode(tokenizer, "A man fell.", RESPONSE, "last_token", True, 256)
    assert sum(w > 0 for w in enc.weights) == 1
    assert _pooled_text(tokenizer, enc) == "."


def test_v0_mean_uses_raw_text_and_every_token(tokenizer):
    enc = encode(tokenizer, "ignored", RESPONSE, "v0_mean", True, 256)
    assert tokenizer.decode(enc.ids) == RESPONSE
    assert all(w == pytest.approx(1 / len(enc.ids)) for w in enc.weights)


def test_chat_template_is_applied(tokenizer):
    text, start, end = render(tokenizer, "Hello?", RESPONSE, True)
    assert "<|im_start|>assistant" in text and text[start:end] == RESPONSE


def test_length_buckets_respect_budget_and_cover_everything():
    lengths = [5, 50, 7, 48, 6, 100]
    batches = length_buckets(lengths, batch_tokens=100)
    assert sorted(i for b in batches for i in b) == list(range(6))
    for b in batches:
        assert max(lengths[i] for i in b) * len(b) <= 100 or len(b) == 1


def test_a_sentencepiece_first_token_with_its_leading_space_is_a_response_token():
    # Gemma's tokenizer gives "▁I" the span of " I": its space lies before the response's first character
    from core.models.text import _in_response

    text = "Assistant:\n I stop.\n"
    start, end = text.index("I stop."), text.index("I stop.") + len("I stop.")
    spans = {"Assistant": (0, 9), ":": (9, 10), "\n": (10, 11), " I": (11, 13), " stop": (13, 18), ".": (18, 19),
             "end": (19, 20)}
    inside = {name for name, (a, b) in spans.items() if _in_response(text, a, b, start, end)}
    assert inside == {" I", " stop", "."}  # not the whitespace-only token before, not the one after
