"""Steering: add alpha x a unit direction to the residual stream after decoder block L (P2: phases
speak in layer, positions, direction and alpha; only this module knows the backend).

Batching. Every row of a batch carries its own alpha, so all alphas of a prompt, and several prompts,
run as rows of ONE `generate` call with the KV cache on: through nnsight, a per-row alpha vector is
added to the block's output at every forward of the generation loop (`tracer.iter[:n]`, bounded;
the result is read in a second, empty invoke, because a loop that every row ends early by EOS stops
short and skips what follows it). Rows of different prompts are left-padded; HF derives position ids
from the attention mask, so a padded row equals its unpadded run (tested).

Positions. `response` (default) steers the positions whose outputs are generated: the last prompt
position (it predicts the first response token) and every generated token. The prompt minus its last
token is then the same for every alpha, so it runs once per distinct prompt and its KV cache is shared
by that prompt's rows. `all` also steers the prompt positions (every row runs its own prefill).

Sampling. Each row draws from its own torch.Generator (one seed per row) after temperature and top-p
(Gumbel-max), so a row's tokens depend on (prompt, alpha, seed), not on which rows share its batch.
HF then picks that token greedily. Temperature 0 is plain greedy decoding. Rows stop and are cut at their
first end-of-turn id (the generation config's and the tokenizer's: Phi-3's <|end|>, Gemma-2's <end_of_turn>).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from transformers import LogitsProcessor

from core.models import engine
from core.models.capture import residual_stream
from core.models.generation import Sampling, cut_at_eos
from core.models.loader import LoadedModel
from core.models.rows import left_pad
from core.models.text import collate, encode

Positions = Literal["response", "all"]


@dataclass(frozen=True)
class Steering:
    """Where and what to add: block `layer`'s output += alpha * direction (unit, [d])."""

    layer: int
    direction: torch.Tensor
    positions: Positions = "response"


@dataclass(frozen=True)
class SteeredRow:
    """One steered row (a generation, a forced choice): which prompt (index), the alpha added, the
    sampling seed."""

    prompt: int
    alpha: float
    seed: int = 0


def steering_delta(model: LoadedModel, steering: Steering, alphas: list[float]) -> torch.Tensor:
    """[rows, 1, d]: each row's alpha times the unit direction, in the model's dtype and device."""
    v = steering.direction.to(torch.float32)
    a = torch.tensor(alphas, dtype=torch.float32)
    return (a[:, None, None] * v[None, None, :]).to(model.device, model.hf.dtype)


class RowSampler(LogitsProcessor):
    """Seeded per-row sampling: temperature, nucleus (top-p), then a Gumbel-max draw with each row's
    own generator.

    Gumbel-max (argmax of logits/T + Gumbel noise drawn per token id) samples exactly from the
    softmax, and unlike an inverse-CDF draw it does not flip when batching perturbs the logits in
    the last bits. Returns logits that are -inf except at the drawn token, so HF's greedy step takes it.
    """

    def __init__(self, seeds: list[int], temperature: float, top_p: float) -> None:
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.temperature, self.top_p = temperature, top_p

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        logits = scores.float().cpu() / self.temperature
        u = torch.stack([torch.rand(logits.shape[-1], generator=g) for g in self.generators])  # per token id
        if self.top_p >= 1.0:
            every = torch.arange(logits.shape[-1]).expand_as(logits)
            return self._finish(scores, self._draw(logits, torch.zeros_like(logits), u, every))
        # the nucleus almost always lies in the top 1024 tokens, so the draw is made among them; rows
        # whose top-k mass falls short of top_p draw over the whole vocabulary (same result, slower)
        probs = torch.softmax(logits, dim=-1)
        values, cand = probs.topk(min(1024, probs.shape[-1]), dim=-1)
        tokens = self._draw(logits.gather(-1, cand), values, u.gather(-1, cand), cand)
        short = values.sum(-1) < self.top_p
        if values.shape[-1] < probs.shape[-1] and bool(short.any()):
            full_v, full_i = probs[short].sort(dim=-1, descending=True)
            tokens[short] = self._draw(logits[short].gather(-1, full_i), full_v, u[short].gather(-1, full_i), full_i)
        return self._finish(scores, tokens)

    @staticmethod
    def _finish(scores: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(-1, tokens[:, None].to(scores.device), 0.0)

    def _draw(self, logits: torch.Tensor, probs: torch.Tensor, u: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Gumbel-max among candidates sorted by probability, restricted to the nucleus."""
        keep = (probs.cumsum(-1) - probs) < self.top_p  # the top token is always kept
        noisy = (logits - torch.log(-torch.log(u.clamp(min=1e-20)))).masked_fill(~keep, float("-inf"))
        return ids.gather(-1, noisy.argmax(-1, keepdim=True)).squeeze(-1)


def median_response_norms(model: LoadedModel, texts: list[tuple[str, str]], layers: list[int], max_length: int
                          ) -> dict[int, tuple[float, int]]:
    """layer -> (median L2 norm of the residual over response tokens, number of tokens), from
    (prompt, response) pairs under the chat template, each cut at max_length tokens (the scale that makes
    alpha relative)."""
    items = [encode(model.tokenizer, p, r, "response_mean", True, max_length) for p, r in texts]
    ids, mask, weights = collate(items, model.tokenizer.pad_token_id)
    keep = weights > 0  # response tokens only: no template tokens, no attention-sink first token
    out = {}
    for layer, h in zip(layers, residual_stream(model, ids, mask, layers), strict=True):
        norms = h[keep].norm(dim=-1)
        out[layer] = (float(norms.median()), int(norms.numel()))
    return out


def generate_steered(model: LoadedModel, prompts: list[list[int]], rows: list[SteeredRow], steering: Steering,
                     sampling: Sampling) -> list[list[int]]:
    """Generated token ids for each row (the first end-of-turn id and what follows removed: any of the
    model's `eos_ids`, where generation also stops), all rows in one generate call."""
    if any(len(prompts[r.prompt]) < 2 for r in rows):
        raise ValueError("prompts need at least two tokens")
    ids, mask = left_pad([prompts[r.prompt] for r in rows], model.tokenizer.pad_token_id)
    cache = None
    if steering.positions == "response":
        used = {p: i for i, p in enumerate(sorted({r.prompt for r in rows}))}
        cache, _ = engine.prefix_cache(model, [prompts[p][:-1] for p in used], ids.shape[1] - 1)
        cache = engine.take_rows(cache, torch.tensor([used[r.prompt] for r in rows]))
    sampler = RowSampler([r.seed for r in rows], sampling.temperature, sampling.top_p) \
        if sampling.temperature > 0 else None
    delta = steering_delta(model, steering, [r.alpha for r in rows])
    out = engine.generate_added(model, ids, mask, steering.layer, delta, sampling.max_new_tokens, cache, sampler)
    new = out[:, ids.shape[1]:].cpu().tolist()
    return [cut_at_eos(t, model.eos_ids) for t in new]
