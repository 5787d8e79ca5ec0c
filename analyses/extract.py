"""extract — cache the pooled residual stream of every layer for every text (DESIGN P6).

Method. Each text is rendered as a chat (user: the instance's situation; assistant: the text) with
the model's own template. One forward pass per length-bucketed batch (KV cache off, no grad) reads
the output of every decoder block L — the residual stream after block L, HF `hidden_states[L+1]` —
and pools it over the response tokens only (`response_mean`; the template's tokens and the
attention-sink first token are excluded), or takes the last response token (`last_token`), or, for
comparison with v0, the mean over every token of the raw text without a template (`v0_mean`).
The cache is keyed by model, revision, pooling and dataset hash: a rerun with the same key loads
nothing and computes nothing; an interrupted run resumes from the parts already written. A part is
flushed every `flush_every_batches` batches or `flush_every_seconds`, whichever comes first (the bound
on what a kill loses), and the rerun computes only the batches not on disk (`batches` in the summary:
those this invocation computed), giving the cache an uninterrupted run gives.
Beside the layers, in a cache entry of its own, go the token embeddings (HF `hidden_states[0]`: the
input of block 0, family scaling included) pooled with the same weights, for the probes phase's
in-model lexical baseline; a cache of layers from before that entry existed gets it filled alone
(the trace stops before block 0, so that costs an embedding lookup per text).
"""

from __future__ import annotations

import pandas as pd

from analyses.harness import PhaseRun, final
from core.activations import extract_into
from core.config import ExtractConfig, Params
from core.context import RunContext
from core.data.splits import SplitNeed, probe_split_need


def _fill_embeddings(cfg: ExtractConfig, ctx: RunContext) -> str:
    """Fill the pooled token-embedding entry where it is incomplete; its cache key."""
    cache = ctx.embedding_cache()
    if not (cache.complete and cache.done_ids() >= {t.text_id for t in ctx.dataset.texts}):
        extract_into(cache, ctx.model, ctx.dataset.texts, cfg, embeddings=True)
        cache.mark_complete({"n_texts": len(ctx.dataset.texts), "d_model": ctx.model.d_model,
                             "resolved_revision": ctx.model.revision})
    return cache.root.name


def splits_needed(params: Params) -> SplitNeed:
    """Extraction splits nothing, but probes will: warn before a long extraction that it cannot use."""
    need = probe_split_need(params.probes.split, params.probes.select_on)
    return SplitNeed(need.mode, need.groups, f"nothing of the splits, but probes will need {need.why}", fatal=False)


def run(cfg: ExtractConfig, ctx: RunContext) -> PhaseRun:
    """Fill the activation cache (layers, then token embeddings) for ctx.alias; report what was done."""
    ds = ctx.dataset
    cache = ctx.activation_cache()
    embeddings_key = _fill_embeddings(cfg, ctx)
    if cache.complete and cache.done_ids() >= {t.text_id for t in ds.texts}:
        info = cache.manifest()
        info.update(n_new=0, tokens=0, seconds=0.0, batches=0)
    else:
        model = ctx.model
        stats = extract_into(cache, model, ds.texts, cfg)
        info = {"n_texts": stats.n_texts, "n_layers": model.n_layers, "d_model": model.d_model,
                "resolved_revision": model.revision, "n_new": stats.n_new, "tokens": stats.tokens,
                "batches": stats.batches, "seconds": round(stats.seconds, 3)}
        cache.mark_complete({k: info[k] for k in ("n_texts", "n_layers", "d_model", "resolved_revision")})
    row = {"cache_key": cache.root.name, "embeddings_cache_key": embeddings_key, "pooling": cfg.pooling,
           "chat_template": cfg.chat_template, **info}
    row["tokens_per_s"] = round(row["tokens"] / row["seconds"], 1) if row["seconds"] else None
    yield final({"extract_summary": pd.DataFrame([row])})
