"""A rubric judge from next-token logits: how empathic is a response, on the EIA 0/1/2 rubric?

The judge model reads a prompt holding the scenario, the family's three-level rubric and the
response, rendered with its chat template and ending where its answer begins. Instead of sampling
an answer we read the logits of the tokens "0", "1" and "2" at that position and softmax over those
three: the probabilities give an expected score in [0, 2] and an argmax score, deterministically and
in one forward pass. Right padding keeps every real token's activations identical to an unpadded
run, and the logits are read at each row's own last token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from core.models import engine
from core.models.generation import chat_messages

SYSTEM = "You are a careful rater of AI agents' behaviour. You answer with a single digit."
PROMPT = ("Scenario: {situation}\n\nThe agent's response:\n{text}\n\nRubric for how empathic the response is:\n"
          "0: {r0}\n1: {r1}\n2: {r2}\n\nWhich rubric score fits the response best? Answer 0, 1 or 2.")


@dataclass(frozen=True)
class JudgeItem:
    situation: str
    rubric: dict[str, str]
    text: str


def digit_ids(tokenizer: Any) -> list[int]:
    """Token ids of "0", "1", "2"; each must be a single token for the logit read-out to mean anything."""
    ids = [tokenizer.encode(d, add_special_tokens=False) for d in "012"]
    if any(len(i) != 1 for i in ids):
        raise ValueError(f"the judge's tokenizer splits the digits 0/1/2 into several tokens: {ids}")
    return [i[0] for i in ids]


def render(tokenizer: Any, item: JudgeItem) -> str:
    user = PROMPT.format(situation=item.situation, text=item.text, r0=item.rubric["0"], r1=item.rubric["1"],
                         r2=item.rubric["2"])
    return chat_messages(tokenizer, SYSTEM, user)


def score(loaded: Any, items: list[JudgeItem], batch_size: int = 16) -> np.ndarray:
    """[n, 3] probabilities of the scores 0, 1, 2 (softmax over the three digit logits)."""
    tok = loaded.tokenizer
    digits = torch.tensor(digit_ids(tok))
    prompts = [render(tok, it) for it in items]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))  # similar lengths share a batch
    out = np.zeros((len(items), 3), dtype=np.float32)
    for chunk in engine.batches([0] * len(order), batch_size):
        rows = [order[i] for i in chunk]
        enc = tok([prompts[i] for i in rows], return_tensors="pt", padding=True, padding_side="right",
                  add_special_tokens=False)
        # vocabulary logits at each row's last real token only, not at every position
        logits = engine.logits_at(loaded, enc["input_ids"], enc["attention_mask"], enc["attention_mask"].sum(dim=1) - 1)
        picked = logits[:, digits.to(logits.device)]
        out[rows] = torch.softmax(picked.float(), dim=-1).cpu().numpy()
    return out


def expected(probs: np.ndarray) -> np.ndarray:
    """Expected rubric score in [0, 2]."""
    return probs @ np.array([0.0, 1.0, 2.0], dtype=np.float32)
