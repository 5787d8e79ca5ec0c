"""Forward passes that score text with a language model: perplexity of a continuation, a rubric judge
from next-token logits, and next-token logits under steering (the forced-choice logit difference).

All three run rows as `prefix + suffix`: the distinct prefixes (a prompt, a judge's scenario and
rubric) run once each, left-padded, and their KV cache is copied to the rows that share them; only the
suffixes (a response, a last prompt token) are recomputed, left-padded after the prefix. Position ids
come from the joint attention mask, so padding in the middle changes no real token (tested against an
unpadded run). Rows are processed in chunks so at most `budget_tokens` positions of logits are alive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from core.data.schema import Instance
from core.models import engine
from core.models.generation import chat_messages
from core.models.loader import LoadedModel
from core.models.rows import left_pad, position_ids
from core.models.steer import SteeredRow, Steering, steering_delta
from core.raters.judge import SYSTEM as JUDGE_SYSTEM
from core.raters.judge import JudgeItem, digit_ids

# The rubric and the question come before the response, so everything up to the response is a prefix
# shared by all generations of one prompt and the suffix is the response plus the end of the turn
# (the dataset judge in core/raters/judge.py puts the rubric after the response, and cannot share it).
JUDGE_PROMPT = ("Scenario: {situation}\n\nRubric for how empathic the agent's response is:\n0: {r0}\n1: {r1}\n"
                "2: {r2}\n\nWhich rubric score fits the agent's response below best? Answer 0, 1 or 2.\n\n"
                "The agent's response:\n{text}")
_MARK = "\x00RESPONSE\x00"


@dataclass
class Chunk:
    rows: list[int]
    logits: torch.Tensor  # [rows, S or 1, vocab], float32
    ids: torch.Tensor  # [rows, S] left-padded suffix ids
    mask: torch.Tensor  # [rows, S]
    residuals: dict[int, torch.Tensor] = field(default_factory=dict)  # layer -> [rows, d] at the last position


def forward_after_prefix(model: LoadedModel, prefixes: list[list[int]], suffixes: list[list[int]],
                         row_prefix: list[int], last_only: bool, steering: Steering | None = None,
                         alphas: list[float] | None = None, read_layers: tuple[int, ...] = (),
                         budget_tokens: int = 1024) -> Iterator[Chunk]:
    """Logits of every row `prefixes[row_prefix[r]] + suffixes[r]`, chunk by chunk.

    With `steering`, row r's suffix positions get alphas[r] x direction at the steering layer (the
    prefix is never steered: pass empty prefixes to steer whole sequences).
    """
    width = max(len(p) for p in prefixes)
    cache, pmask = engine.prefix_cache(model, prefixes, width) if width else (None, torch.zeros(len(prefixes), 0))
    s_width = max(len(s) for s in suffixes)
    per_chunk = max(1, budget_tokens // (1 if last_only else s_width))
    for rows in engine.batches([0] * len(suffixes), per_chunk):
        ids, smask = left_pad([suffixes[r] for r in rows], model.tokenizer.pad_token_id, s_width)
        pidx = torch.tensor([row_prefix[r] for r in rows])
        mask = torch.cat([pmask[pidx].long(), smask], dim=1)  # type: ignore[index]
        inputs = engine.hf_inputs(model, ids, mask, position_ids(mask)[:, width:],
                                  None if cache is None else engine.take_rows(cache, pidx), cache is not None,
                                  keep=1 if last_only else 0)
        reads: dict[int, torch.Tensor] = {}
        if steering is not None and alphas is not None:
            delta = steering_delta(model, steering, [alphas[r] for r in rows])
            reads, logits = engine.traced_forward(model, inputs, read_layers, lambda h: h[:, -1],
                                                  (steering.layer, delta), logits=True)
        else:
            logits = engine.forward_logits(model, inputs)
        yield Chunk(rows, logits.float().cpu(), ids, smask,  # type: ignore[union-attr]
                    {k: v.float().cpu() for k, v in reads.items()})


def continuation_nll(model: LoadedModel, prompts: list[list[int]], continuations: list[list[int]],
                     row_prompt: list[int]) -> np.ndarray:
    """Mean negative log-likelihood per token of each continuation after its prompt (NaN if empty)."""
    prefixes = [p[:-1] for p in prompts]
    suffixes = [[prompts[row_prompt[r]][-1], *continuations[r]] for r in range(len(continuations))]
    out = np.full(len(continuations), np.nan)
    for chunk in forward_after_prefix(model, prefixes, suffixes, row_prompt, last_only=False):
        logits = chunk.logits[:, :-1]
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk.ids[:, 1:].reshape(-1),
                                                reduction="none").view(logits.shape[:2])
        valid = (chunk.mask[:, 1:] * chunk.mask[:, :-1]).float()
        counts = valid.sum(-1)
        means = (nll * valid).sum(-1) / counts.clamp(min=1)
        out[chunk.rows] = torch.where(counts > 0, means, torch.nan).numpy()
    return out


def steered_last_logits(model: LoadedModel, prompts: list[list[int]], rows: list[SteeredRow], steering: Steering,
                        token_ids: list[int], read_layers: tuple[int, ...] = ()
                        ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Logits of `token_ids` at each row's last prompt position under that row's alpha, and the
    residuals [rows, d] there after `read_layers`. `response` positions steer the last position only;
    `all` steers the whole prompt."""
    if steering.positions == "response":
        prefixes = [p[:-1] for p in prompts]
        suffixes = [[prompts[r.prompt][-1]] for r in rows]
        row_prefix = [r.prompt for r in rows]
    else:
        prefixes, suffixes, row_prefix = [[]], [prompts[r.prompt] for r in rows], [0] * len(rows)
    logits = np.zeros((len(rows), len(token_ids)))
    reads = {layer: np.zeros((len(rows), model.d_model)) for layer in read_layers}
    for chunk in forward_after_prefix(model, prefixes, suffixes, row_prefix, True, steering,
                                      [r.alpha for r in rows], read_layers, budget_tokens=64):
        logits[chunk.rows] = chunk.logits[:, -1, token_ids].numpy()
        for layer, h in chunk.residuals.items():
            reads[layer][chunk.rows] = h.numpy()
    return logits, reads


def forced_choice_text(instance: Instance, empathic_first: bool | None = None) -> str:
    """The forced-choice user message: question, (A)/(B) options (the instance's order unless
    `empathic_first` says otherwise) and "Answer with A or B."."""
    fc = instance.forced_choice
    first_emp = fc.empathic_first if empathic_first is None else empathic_first
    first, second = (fc.empathic_option, fc.task_option) if first_emp else (fc.task_option, fc.empathic_option)
    return f"{instance.situation}\n\n{fc.question}\n(A) {first}\n(B) {second}\nAnswer with A or B."


def _judge_parts(tokenizer: Any, situation: str, rubric: dict[str, str]) -> tuple[list[int], list[int]]:
    user = JUDGE_PROMPT.format(situation=situation, r0=rubric["0"], r1=rubric["1"], r2=rubric["2"], text=_MARK)
    head, tail = chat_messages(tokenizer, JUDGE_SYSTEM, user).split(_MARK)
    enc = tokenizer([head, tail], add_special_tokens=False)["input_ids"]
    return list(enc[0]), list(enc[1])


def judge_scores(model: LoadedModel, items: list[JudgeItem]) -> np.ndarray:
    """Expected rubric score in [0, 2] per item: softmax over the logits of "0", "1", "2"."""
    tok = model.tokenizer
    keys = sorted({(it.situation, tuple(sorted(it.rubric.items()))) for it in items})
    parts = [_judge_parts(tok, s, dict(r)) for s, r in keys]
    where = {k: i for i, k in enumerate(keys)}
    row_prefix = [where[(it.situation, tuple(sorted(it.rubric.items())))] for it in items]
    texts = tok([it.text for it in items], add_special_tokens=False)["input_ids"]
    suffixes = [list(t) + parts[p][1] for t, p in zip(texts, row_prefix, strict=True)]
    digits = digit_ids(tok)
    out = np.zeros(len(items))
    for chunk in forward_after_prefix(model, [h for h, _ in parts], suffixes, row_prefix, last_only=True,
                                      budget_tokens=64):
        probs = torch.softmax(chunk.logits[:, -1, digits], dim=-1).numpy()
        out[chunk.rows] = probs @ np.array([0.0, 1.0, 2.0])
    return out

