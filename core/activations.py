"""Extraction: pooled residuals of every layer for every text, one forward pass per batch.

Texts are tokenized once, sorted by length and cut into batches of at most `batch_tokens` padded
tokens (length bucketing keeps padding waste small); each batch is one nnsight trace that pools
all layers in place. Finished batches are flushed to the cache as a part every
`extract.flush_every_batches` batches or `extract.flush_every_seconds`, whichever comes first, so a
kill (SIGKILL included) loses at most that much work plus the batch running; the rerun plans the same
batches and computes only those not on disk.
The pooled token embeddings (HF hidden_states[0], the probes phase's in-model lexical baseline) live
in a cache entry of their own (`embedding_fields`: the layer key plus a `site`), so the layer entries
and their keys are unchanged; a trace that reads them stops before block 0 runs.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from core import paths
from core.cache import ActivationCache
from core.config import ExtractConfig, Params
from core.data import Dataset, Text
from core.models.capture import pooled_embeddings, pooled_residuals
from core.models.loader import LoadedModel, plain_template_key, revision_key
from core.models.text import Encoded, collate, encode, length_buckets


@dataclass
class ExtractStats:
    """What one extract_into call did: texts asked and newly cached, tokens and batches it computed (of the
    batches the whole plan has), and how long it took."""

    n_texts: int
    n_new: int
    tokens: int
    seconds: float
    batches: int
    batches_total: int


class _Part:
    """Finished batches not yet on disk; flushed as one cache part every `flush_every_batches` batches or
    once `flush_every_seconds` have passed since the last part, whichever comes first. That bounds what
    a kill can lose: the batches buffered (at most that many, or that long) plus the one running."""

    def __init__(self, cache: ActivationCache, cfg: ExtractConfig):
        self.cache, self.cfg = cache, cfg
        self.ids: list[str] = []
        self.blocks: list[np.ndarray] = []
        self.since = time.monotonic()

    def add(self, text_ids: list[str], acts: np.ndarray) -> None:
        """Buffer one batch's [layers, texts, d] activations; flush when the bound is reached."""
        self.ids += text_ids
        self.blocks.append(acts)
        due = time.monotonic() - self.since >= self.cfg.flush_every_seconds
        if len(self.blocks) >= self.cfg.flush_every_batches or due:
            self.flush()

    def flush(self) -> None:
        """Write the buffered batches as a part (nothing when empty)."""
        if self.ids:
            self.cache.write_part(self.ids, np.concatenate(self.blocks, axis=1), self.cfg.cache_dtype)
        self.ids, self.blocks, self.since = [], [], time.monotonic()


def key_fields(params: Params, alias: str, dataset: Dataset) -> dict[str, object]:
    """What identifies a cache: model, revision, pooling, template, truncation and dataset hash."""
    spec, cfg = params.model(alias), params.extract
    fields: dict[str, object] = {
        "model": alias, "hf_id": spec.hf_id, "revision": revision_key(spec), "dtype": spec.dtype,
        "pooling": cfg.pooling, "chat_template": cfg.chat_template, "max_length": cfg.max_length,
        "dataset_sha256": dataset.sha256}
    if params.data.instances_per_family:  # a cut of the dataset holds other texts than the whole file
        fields["instances_per_family"] = params.data.instances_per_family
    if spec.chat == "plain":  # our template is not in the weights: its text (and response-token rule) keys the cache
        fields["plain_template"] = plain_template_key()
    return fields


def embedding_fields(params: Params, alias: str, dataset: Dataset) -> dict[str, object]:
    """The key of the pooled token-embedding entry: the layer key plus its site."""
    return {**key_fields(params, alias, dataset), "site": "token_embeddings"}


def open_cache(params: Params, alias: str, dataset: Dataset, base: object) -> ActivationCache:
    from pathlib import Path

    return ActivationCache.open(Path(str(base)), key_fields(params, alias, dataset))


def cached_activations(params: Params, alias: str, dataset: Dataset, text_ids: list[str]
                       ) -> tuple[np.ndarray, str]:
    """Extract's finished activations [layers, texts, d] of a model for these texts, and the revision
    the cache was extracted from (RunContext.activations records it). Nothing is created: raises when
    extract has not completed for this cache key."""
    cache = ActivationCache.at(paths.activations_dir(alias, params.comparison), key_fields(params, alias, dataset))
    if not cache.complete:
        raise RuntimeError(f"no complete activation cache at {cache.root}; run `extract` first")
    return cache.load(text_ids), str(cache.manifest()["resolved_revision"])


def cached_embeddings(params: Params, alias: str, dataset: Dataset, text_ids: list[str]) -> np.ndarray:
    """Extract's pooled token embeddings [texts, d] (raises when that entry is not complete)."""
    cache = ActivationCache.at(paths.activations_dir(alias, params.comparison),
                               embedding_fields(params, alias, dataset))
    if not cache.complete:
        raise RuntimeError(f"no complete token-embedding cache at {cache.root}; run `extract` first")
    return cache.load(text_ids)[0]


def encode_texts(model: LoadedModel, texts: list[Text], cfg: ExtractConfig) -> list[Encoded]:
    return [encode(model.tokenizer, t.prompt, t.text, cfg.pooling, cfg.chat_template, cfg.max_length)
            for t in texts]


def extract_into(cache: ActivationCache, model: LoadedModel, texts: list[Text], cfg: ExtractConfig,
                 embeddings: bool = False) -> ExtractStats:
    """Fill the cache with every text it lacks (every layer, or with `embeddings` the pooled token
    embeddings as one pseudo-layer); returns what was done.

    The batches are planned over all `texts`, not only the missing ones, and a batch whose texts are all
    cached is skipped: a resumed run computes exactly the batches an uninterrupted run would, with the
    same members and padding, so its values are bit-identical. A batch a kill left half-stored (its
    overflow texts go to a part of their own) is computed again and only its missing texts are kept.
    """
    done, start, tokens = cache.done_ids(), time.perf_counter(), 0
    encoded = encode_texts(model, texts, cfg)
    plan = length_buckets([len(e.ids) for e in encoded], cfg.batch_tokens)
    todo = [batch for batch in plan if any(texts[i].text_id not in done for i in batch)]
    layers, part = list(range(model.n_layers)), _Part(cache, cfg)
    for batch in tqdm(todo, desc=f"extract {model.alias}", unit="batch", file=sys.stderr, disable=not todo):
        ids, mask, weights = collate([encoded[i] for i in batch], model.tokenizer.pad_token_id)
        read = pooled_embeddings(model, ids, mask, weights) if embeddings else pooled_residuals(
            model, ids, mask, weights, layers)
        keep = [k for k, i in enumerate(batch) if texts[i].text_id not in done]
        part.add([texts[batch[k]].text_id for k in keep], read.numpy()[:, keep])
        tokens += int(mask.sum())
    part.flush()
    n_new = sum(t.text_id not in done for t in texts)
    return ExtractStats(len(texts), n_new, tokens, time.perf_counter() - start, len(todo), len(plan))
