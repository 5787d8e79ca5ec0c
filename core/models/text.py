"""Turning (prompt, response) into token ids plus pooling weights over the response tokens.

DESIGN §3: chat templates always for instruct models, and pooling over response tokens only. The
template's own tokens (role markers, end-of-turn) and the attention-sink first token are excluded by
construction: the weights cover exactly the tokens whose characters lie inside the response text.
`v0_mean` reproduces v0: the raw response, no template, the mean over every token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from core.config import Pooling


@dataclass(frozen=True)
class Encoded:
    """One text: its ids and the pooling weights (summing to 1) over its positions."""

    ids: list[int]
    weights: list[float]


def render(tokenizer: Any, prompt: str, response: str, chat_template: bool) -> tuple[str, int, int]:
    """The model input string and the character span of the response inside it."""
    if not chat_template:
        return response, 0, len(response)
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    start = full.rfind(response)
    if start < 0:
        raise ValueError("chat template altered the response text; cannot locate response tokens")
    return full, start, start + len(response)


def _in_response(text: str, a: int, b: int, start: int, end: int) -> bool:
    """Whether token span [a, b) is a response token. SentencePiece tokenizers (Gemma) give the response's
    first token, "▁I", the offset of the space before it, outside the response: a token counts when its
    characters past any leading whitespace lie inside (a token of whitespace only must start inside)."""
    if b <= a or b > end:
        return False
    text_start = a
    while text_start < b and text[text_start].isspace():
        text_start += 1
    return a >= start or start <= text_start < b


def _weights(text: str, offsets: list[tuple[int, int]], start: int, end: int, pooling: Pooling) -> list[float]:
    inside = [i for i, (a, b) in enumerate(offsets) if _in_response(text, a, b, start, end)]
    if pooling == "v0_mean":
        inside = list(range(len(offsets)))
    elif pooling == "last_token":
        inside = inside[-1:]
    if not inside:
        raise ValueError("no response tokens to pool over")
    w = [0.0] * len(offsets)
    for i in inside:
        w[i] = 1.0 / len(inside)
    return w


def encode(tokenizer: Any, prompt: str, response: str, pooling: Pooling, chat_template: bool,
           max_length: int) -> Encoded:
    """Tokenize one example and build its pooling weights (truncation keeps the start)."""
    text, start, end = render(tokenizer, prompt, response, chat_template and pooling != "v0_mean")
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=not chat_template,
                    truncation=True, max_length=max_length)
    offsets = [tuple(o) for o in enc["offset_mapping"]]
    return Encoded(list(enc["input_ids"]), _weights(text, offsets, start, end, pooling))


def length_buckets(lengths: list[int], batch_tokens: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, each at most `batch_tokens` padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and lengths[i] * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def collate(items: list[Encoded], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded ids, attention mask and pooling weights.

    Right padding keeps every real token's position id and, the attention being causal, its
    activations identical to an unpadded run (checked in tests).
    """
    width = max(len(e.ids) for e in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    weights = torch.zeros((len(items), width), dtype=torch.float32)
    for row, e in enumerate(items):
        n = len(e.ids)
        ids[row, :n] = torch.tensor(e.ids)
        mask[row, :n] = 1
        weights[row, :n] = torch.tensor(e.weights)
    return ids, mask, weights
