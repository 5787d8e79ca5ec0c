"""Extraction: pooled residuals of every layer for every text, one forward pass per batch.

Texts are tokenized once, sorted by length and cut into batches of at most `batch_tokens` padded
tokens (length bucketing keeps padding waste small); each batch is one nnsight trace that pools
all layers in place. Parts are flushed to the cache as they finish, so a killed run resumes.
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
    n_texts: int
    n_new: int
    tokens: int
    seconds: float


def key_fields(params: Params, alias: str, dataset: Dataset) -> dict[str, object]:
    """What identifies a cache: model, revision, pooling, template, truncation and dataset hash."""
    spec, cfg = params.model(alias), params.extract
    fields: dict[str, object] = {
        "model": alias, "hf_id": spec.hf_id, "revision": revision_key(spec), "dtype": spec.dtype,
        "pooling": cfg.pooling, "chat_template": cfg.chat_template, "max_length": cfg.max_length,
        "dataset_sha256": dataset.sha256}
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
    cache = ActivationCache.at(paths.activations_dir(alias), key_fields(params, alias, dataset))
    if not cache.complete:
        raise RuntimeError(f"no complete activation cache at {cache.root}; run `extract` first")
    return cache.load(text_ids), str(cache.manifest()["resolved_revision"])


def cached_embeddings(params: Params, alias: str, dataset: Dataset, text_ids: list[str]) -> np.ndarray:
    """Extract's pooled token embeddings [texts, d] (raises when that entry is not complete)."""
    cache = ActivationCache.at(paths.activations_dir(alias), embedding_fields(params, alias, dataset))
    if not cache.complete:
        raise RuntimeError(f"no complete token-embedding cache at {cache.root}; run `extract` first")
    return cache.load(text_ids)[0]


def encode_texts(model: LoadedModel, texts: list[Text], cfg: ExtractConfig) -> list[Encoded]:
    return [encode(model.tokenizer, t.prompt, t.text, cfg.pooling, cfg.chat_template, cfg.max_length)
            for t in texts]


def extract_into(cache: ActivationCache, model: LoadedModel, texts: list[Text], cfg: ExtractConfig,
                 flush_every: int = 64, embeddings: bool = False) -> ExtractStats:
    """Fill the cache with every text it lacks (every layer, or with `embeddings` the pooled token
    embeddings as one pseudo-layer); returns what was done."""
    done = cache.done_ids()
    todo = [t for t in texts if t.text_id not in done]
    start, tokens = time.perf_counter(), 0
    encoded = encode_texts(model, todo, cfg)
    layers = list(range(model.n_layers))
    pending_ids: list[str] = []
    pending: list[np.ndarray] = []
    batches = length_buckets([len(e.ids) for e in encoded], cfg.batch_tokens)
    for batch in tqdm(batches, desc=f"extract {model.alias}", unit="batch", file=sys.stderr,
                      disable=not todo):
        ids, mask, weights = collate([encoded[i] for i in batch], model.tokenizer.pad_token_id)
        read = pooled_embeddings(model, ids, mask, weights) if embeddings else pooled_residuals(
            model, ids, mask, weights, layers)
        pending.append(read.numpy())
        pending_ids += [todo[i].text_id for i in batch]
        tokens += int(mask.sum())
        if len(pending_ids) >= flush_every:
            cache.write_part(pending_ids, np.concatenate(pending, axis=1), cfg.cache_dtype)
            pending_ids, pending = [], []
    if pending_ids:
        cache.write_part(pending_ids, np.concatenate(pending, axis=1), cfg.cache_dtype)
    return ExtractStats(len(texts), len(todo), tokens, time.perf_counter() - start)
