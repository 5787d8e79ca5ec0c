"""Remote execution on NDIF through nnsight (issue 11, item 14): the 70B without a multi-GPU node.

A model spec with `remote: ndif` loads no weights: nnsight builds the architecture on the meta device
from the hub config, and every nnsight trace of core/models/engine.py (`traced_forward`,
`traced_embeddings`) and core/models/traced_rows.py runs with `remote=True`, i.e. it is serialised,
sent to NDIF, run on NDIF's copy of the model and only what the trace saves comes back. So extraction
(pooled residuals and embeddings), the probes on its cache, and activation patching (per-row edits in
one trace) work through it. NDIF serves Llama-3.1-70B-Instruct, not Llama-3-70B-Instruct, so the remote
alias in params.yaml names 3.1. Not remote: steering generation, the judge, mediation's and attribution's
hook/gradient paths (they need the weights here).

The API key comes from the environment variable NDIF_API_KEY only. It is set on nnsight's in-memory
config and never written: nnsight's own `CONFIG.set_default_api_key` saves it to a config file, so it
is not used. `remote="local"` is nnsight's offline dry run of the same path (serialise, deserialise
with local modules hidden, run here): `dry_run` gives a model that traces that way, which is how the
tests prove the traces serialise, on a tiny model, without NDIF.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from core.config import ModelSpec
from core.errors import InputError
from core.models.loader import LoadedModel

API_KEY_VARIABLE = "NDIF_API_KEY"


def ndif_api_key() -> str:
    """The NDIF API key from the environment; an InputError naming the variable when it is missing."""
    key = os.environ.get(API_KEY_VARIABLE, "").strip()
    if not key:
        raise InputError(API_KEY_VARIABLE, "a model with `remote: ndif` runs on NDIF and needs an API key: "
                         f"export {API_KEY_VARIABLE}=... (from https://login.ndif.us); it is never written")
    return key


def load_ndif(alias: str, spec: ModelSpec) -> LoadedModel:
    """A LoadedModel whose traces run on NDIF: meta-device weights here, the hub tokenizer, remote=True."""
    from nnsight import CONFIG, TransformersModel
    from transformers import AutoTokenizer

    CONFIG.API.APIKEY = ndif_api_key()  # in memory only (never CONFIG.save / set_default_api_key)
    token = os.environ.get("HF_TOKEN")  # the gated tokenizer and config (the hub client reads it too); never stored
    tok = AutoTokenizer.from_pretrained(spec.hf_id, revision=spec.revision, token=token)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    # dispatch=False: the architecture on the meta device, no weights (NDIF runs its own copy)
    wrapper: Any = TransformersModel(spec.hf_id, revision=spec.revision, tokenizer=tok, dispatch=False)
    model = LoadedModel(alias, spec, wrapper._module, tok, spec.revision, "cpu", remote=True)
    model._nnsight = wrapper  # type: ignore[attr-defined]  # engine.wrap reuses it: it holds the remote key
    return model


def dry_run(model: LoadedModel) -> LoadedModel:
    """The same local model with its traces run through nnsight's offline remote path (`remote="local"`)."""
    return dataclasses.replace(model, remote="local")
