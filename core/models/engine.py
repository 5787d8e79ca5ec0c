"""The one model engine (DESIGN P2): the only module that knows HF forward arguments, the KV cache
object, decoder-layer outputs, hooks, nnsight and devices. Everything else in core/models speaks in
token ids, layers, residuals and logits and calls the functions here.

Three ways to run a forward share one argument builder (`hf_inputs`) and one prefix-KV helper:
- `traced_forward`: an nnsight trace that reads a function of the residual after some layers (pooling happens
  inside the trace, so only what is read leaves the model) and may add a per-row delta at one block.
- `generate_added`: an nnsight `generate` adding a per-row delta at one block at every step.
- `edited_logits` / `residual_grads`: plain forward hooks with one edit per batch row, block stubs
  below a batch's first edit and a backward pass; see the Edit/Row docstrings and core/models/patch.py.
A hook sees the same tensor nnsight exposes as `.output` (layer L = HF hidden_states[L+1]; a test
checks they agree), and core/models/families.py remains the one place that knows its shape.

transformers 5.20 vs 5.24 (the GPU image's vLLM pins < 5.21, the CPU lock has 5.24), by feature:
- the cache keyword and output field are `past_key_values` up to 5.23 and `cache` from 5.24
  (`_cache_keyword` reads the model's forward signature);
- `logits_to_keep` as a [batch, k] tensor of per-row positions exists from 5.23
  (`modeling_utils.slice_logits_to_keep`); before, a 1-D tensor keeps the same positions in every row.
The cache classes (DynamicCache.layers, DynamicLayer.keys/values/is_initialized,
batch_select_indices, batch_repeat_interleave) agree on both.

Devices (device_map="auto" puts blocks on several GPUs): whatever is combined with a layer's output
goes to that output's device (`beside`), and each cache layer is indexed on its own device.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import nnsight
import torch
from nnsight import TransformersModel
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList, modeling_utils
from transformers.cache_utils import DynamicLayer

from core.models.families import FAMILIES, add_to_output, get_path, residual_from_output
from core.models.loader import LoadedModel
from core.models.rows import Edit, LayerPlan, Row, Scorer, batches, left_pad, plans, position_ids

__all__ = ["Edit", "Row", "batches", "beside", "edited_logits", "expand", "forward_logits", "generate_added",
           "hf_inputs", "hooked_residuals", "left_pad", "logits_at", "position_ids", "prefix_cache",
           "residual_grads", "take_rows", "traced_embeddings", "traced_forward", "wrap"]

# 5.23+ slices hidden states with a [batch, k] `logits_to_keep` per row; 5.20 indexes [:, keep] (1-D only)
PER_ROW_KEEP = hasattr(modeling_utils, "slice_logits_to_keep")


def wrap(model: LoadedModel) -> TransformersModel:
    """The nnsight view of a loaded HF model (built once per model and reused)."""
    cached = getattr(model, "_nnsight", None)
    if cached is None:
        cached = TransformersModel(model.hf, tokenizer=model.tokenizer)
        model._nnsight = cached  # type: ignore[attr-defined]
    return cached


def _envoys(model: LoadedModel) -> list[Any]:
    return list(get_path(wrap(model), FAMILIES[model.spec.family].layers_path))


def beside(t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """`t` on the device of `h`, the layer output it is combined with (blocks may sit on several GPUs)."""
    return t.to(h.device)


def _cache_keyword(model: LoadedModel) -> str:
    # 5.24 renamed `past_key_values` to `cache` (forward keyword and output field alike)
    return "cache" if "cache" in inspect.signature(model.hf.forward).parameters else "past_key_values"


def hf_inputs(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor | None = None,
              positions: torch.Tensor | None = None, cache: Any = None, use_cache: bool = False,
              keep: int | torch.Tensor | None = None, hidden: bool = False) -> dict[str, Any]:
    """Keyword arguments of an HF causal-LM forward, on the model's input device."""
    dev = model.device
    out: dict[str, Any] = {"input_ids": ids.to(dev)}
    if mask is not None:
        out["attention_mask"] = mask.to(dev)
    if positions is not None:
        out["position_ids"] = positions.to(dev)
    if cache is not None:
        out[_cache_keyword(model)] = cache
    out["use_cache"] = use_cache
    if keep is not None:
        out["logits_to_keep"] = keep
    if hidden:
        out["output_hidden_states"] = True
    return out


def forward_logits(model: LoadedModel, inputs: dict[str, Any]) -> torch.Tensor:
    """Logits of one plain forward (no hooks), under inference mode."""
    with torch.inference_mode():
        return model.hf(**inputs).logits


def logits_at(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, last: torch.Tensor,
              per_row: bool = PER_ROW_KEEP) -> torch.Tensor:
    """[batch, vocab] logits at position last[r] of each row r, without vocabulary logits elsewhere
    (`per_row=False` takes the path for transformers < 5.23 on any version)."""
    # HF slices the final norm's output with these positions: on a device map, that is the last GPU
    last = last.to(next(get_path(model.hf, FAMILIES[model.spec.family].final_norm_path).parameters()).device)
    if per_row:
        return forward_logits(model, hf_inputs(model, ids, mask, keep=last[:, None]))[:, 0]
    cols, row_col = torch.unique(last, return_inverse=True)  # 5.20: the distinct positions, then each row's
    logits = forward_logits(model, hf_inputs(model, ids, mask, keep=cols))
    return logits[torch.arange(len(last), device=logits.device), row_col.to(logits.device)]


def prefix_cache(model: LoadedModel, prefixes: list[list[int]], width: int | None = None
                 ) -> tuple[Any, torch.Tensor | None]:
    """KV cache of the prefixes (one row each) and their attention mask, without the LM head.

    With `width` they are left-padded to it (mask and mask-derived position ids); without, the one
    unpadded prefix runs on HF's own causal path (no mask). Not inference mode: a gradient pass may
    reuse the cache.
    """
    if width is None:
        ids, mask = torch.tensor(prefixes), None
        inputs = hf_inputs(model, ids, use_cache=True, keep=1)
    else:
        ids, mask = left_pad(prefixes, model.tokenizer.pad_token_id, width)
        inputs = hf_inputs(model, ids, mask, position_ids(mask), use_cache=True, keep=1)
    with torch.no_grad():
        out = model.hf(**inputs)
    return getattr(out, _cache_keyword(model)), mask


def take_rows(cache: Any, index: torch.Tensor) -> Any:
    """A new cache holding rows `index` of `cache` (repeats allowed); `cache` itself is untouched."""
    new = copy.copy(cache)
    new.layers = [copy.copy(layer) for layer in cache.layers]
    for layer in new.layers:  # each layer indexed on its own device (device maps)
        keys = getattr(layer, "keys", None)
        layer.batch_select_indices(index if keys is None else index.to(keys.device))
    return new


def expand(cache: Any, rows: int) -> Any:
    """A private copy of a one-row cache with `rows` batch rows (the forward appends to it).

    Plain DynamicLayers grow by concatenation, so their prefix tensors can be shared as broadcast views
    (no copy); any other layer type (sliding windows, static caches) gets a deep copy, repeated.
    """
    if cache is None:
        return None
    if all(type(layer) is DynamicLayer for layer in cache.layers):
        out = copy.copy(cache)
        out.layers = [copy.copy(layer) for layer in cache.layers]
        for layer in out.layers:
            if layer.is_initialized:
                layer.keys = layer.keys.expand(rows, *layer.keys.shape[1:])
                layer.values = layer.values.expand(rows, *layer.values.shape[1:])
        return out
    out = copy.deepcopy(cache)
    out.batch_repeat_interleave(rows)
    return out


def _added(output: Any, delta: torch.Tensor) -> Any:
    return add_to_output(output, beside(delta, residual_from_output(output)))


def traced_forward(model: LoadedModel, inputs: dict[str, Any], reads: Sequence[int] = (),
          fn: Callable[[torch.Tensor], torch.Tensor] = lambda h: h, add: tuple[int, torch.Tensor] | None = None,
          logits: bool = False) -> tuple[dict[int, torch.Tensor], torch.Tensor | None]:
    """One nnsight forward: {layer: fn(residual after it)} for `reads`, with `add` = (block, delta)
    added to that block's output first (reads at or after it see the delta), and the logits if asked."""
    envoys, (at, delta) = _envoys(model), add if add is not None else (len(model.layer_modules()), None)
    order = sorted(set(reads))  # nnsight reads modules in the order the forward reaches them
    out = None  # nnsight hands back only the values saved in the trace body
    with torch.inference_mode(), wrap(model).trace(inputs, remote=model.remote) as tracer:
        early = nnsight.save({i: fn(residual_from_output(envoys[i].output)) for i in order if i < at})
        if delta is not None:
            envoys[at].output = _added(envoys[at].output, delta)
        late = nnsight.save({i: fn(residual_from_output(envoys[i].output)) for i in order if i >= at})
        if logits:
            out = wrap(model).output.logits.save()
        else:  # nobody reads on: no block after the last read, no final norm, no LM head (256k vocabularies)
            tracer.stop()
    return {**early, **late}, out


def traced_embeddings(model: LoadedModel, inputs: dict[str, Any],
                      fn: Callable[[torch.Tensor], torch.Tensor] = lambda h: h) -> torch.Tensor:
    """fn(the input of decoder block 0) = fn(HF hidden_states[0]): the embedding layer's output with any
    family scaling already applied (Gemma's sqrt(d)); the trace stops there, so no block runs."""
    with torch.inference_mode(), wrap(model).trace(inputs, remote=model.remote) as tracer:
        out = nnsight.save(fn(_envoys(model)[0].input))
        tracer.stop()
    return out


def generate_added(model: LoadedModel, ids: torch.Tensor, mask: torch.Tensor, layer: int, delta: torch.Tensor,
                   max_new_tokens: int, cache: Any = None, processor: LogitsProcessor | None = None
                   ) -> torch.Tensor:
    """Prompt + generated ids [rows, T + n] of one `generate` call adding delta [rows, 1, d] to block
    `layer`'s output at every step (prefill included); `cache` holds already-run prompt positions."""
    kwargs: dict[str, Any] = {} if cache is None else {_cache_keyword(model): cache}
    if processor is not None:
        kwargs["logits_processor"] = LogitsProcessorList([processor])
    envoy, n = _envoys(model)[layer], max_new_tokens
    inputs = {"input_ids": ids.to(model.device), "attention_mask": mask.to(model.device)}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*was never reached.*")  # every row ended early (EOS)
        with wrap(model).generate(generation_config=_generation_config(model, n), **kwargs) as tracer:
            with tracer.invoke(inputs):
                for _ in tracer.iter[:n]:
                    envoy.output = _added(envoy.output, delta)
            with tracer.invoke():
                out = tracer.result.save()
    return out


def _generation_config(model: LoadedModel, n: int) -> GenerationConfig:
    tok = model.tokenizer
    # every knob explicit, so a checkpoint's own generation_config (v0's hidden defaults) cannot leak in
    return GenerationConfig(max_new_tokens=n, do_sample=False, num_beams=1, temperature=1.0, top_p=1.0, top_k=None,
                            repetition_penalty=1.0, eos_token_id=model.eos_ids, pad_token_id=tok.pad_token_id,
                            use_cache=True)


def _with_residual(output: Any, hidden: torch.Tensor) -> Any:
    """Put an edited residual back into a layer output of the shape the backend returned."""
    if isinstance(output, tuple):
        return (hidden, *output[1:])
    return hidden


@contextmanager
def _hooks(model: LoadedModel, layer_plans: dict[int, LayerPlan], capture: Sequence[int],
           store: dict[int, torch.Tensor], grad: bool = False) -> Iterator[None]:
    """Install one forward hook per edited or captured layer for the duration of a forward."""
    modules = model.layer_modules()

    def make(layer: int) -> Any:
        plan = layer_plans.get(layer)

        def hook(_module: Any, _args: Any, output: Any) -> Any:
            h = residual_from_output(output)
            if plan is not None and plan.mask is not None:
                # .to(h): with a device map, blocks may sit on different devices
                h = torch.where(plan.mask.to(h.device).unsqueeze(-1), plan.values.to(h), h)  # type: ignore[union-attr]
            if plan is not None and plan.delta is not None:
                h = h + plan.delta.to(h)
            if grad and layer in capture:
                if not h.requires_grad:
                    h = h.detach().requires_grad_(True)
                h.retain_grad()
            if layer in capture:
                store[layer] = h
            return _with_residual(output, h)

        return hook

    handles = [modules[i].register_forward_hook(make(i)) for i in sorted(set(layer_plans) | set(capture))]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class _Stub(torch.nn.Module):
    """Stands in for a decoder block below a batch's first edit: returns the stored residual (the last
    skipped block) or its input unchanged (the blocks below it, whose output nobody reads)."""

    def __init__(self, value: torch.Tensor | None) -> None:
        super().__init__()
        self.value = value

    def forward(self, hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        # transformers 5 decoder blocks return the residual tensor itself (core/models/families.py)
        return hidden_states if self.value is None else self.value.to(hidden_states)


@contextmanager
def _skipping(model: LoadedModel, start: int, inputs: torch.Tensor | None) -> Iterator[None]:
    """Blocks 0..start-1 replaced by stubs for one forward, so the batch starts computing at `start`."""
    if start == 0 or inputs is None:
        yield
        return
    blocks = get_path(model.hf, FAMILIES[model.spec.family].layers_path)
    originals = [blocks[i] for i in range(start)]
    for i in range(start):
        blocks[i] = _Stub(inputs if i == start - 1 else None)
    try:
        yield
    finally:
        for i, block in enumerate(originals):
            blocks[i] = block


def _scores(model: LoadedModel, ids: torch.Tensor, cache: Any, scorer: Scorer, rows: Sequence[Row]) -> torch.Tensor:
    # only the final positions the scorer reads get vocabulary logits (an int keep works on 5.20 and 5.24)
    out = model.hf(**hf_inputs(model, ids, cache=cache, use_cache=cache is not None, keep=scorer.keep(rows)))
    return scorer(out.logits.float(), ids.to(out.logits.device), rows)


def edited_logits(model: LoadedModel, rows: Sequence[Row], offset: int, cache: Any, scorer: Scorer,
                  capture: Sequence[int] = (), start: int = 0) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """One batch of equal-length rows after the one-row prefix `cache` (`offset` tokens), each row's
    edits applied: the scorer's per-row scores [rows, k] (letter logits at the last position, or a
    continuation's log-probabilities) and the residuals after the `capture` layers [rows, T - offset, d].
    `start` > 0 runs blocks from `start` on, fed `Row.inputs`."""
    ids = torch.tensor([list(r.ids[offset:]) for r in rows])
    layer_plans = plans(rows, offset, ids.shape[1], model.d_model, model.device)
    inputs = torch.stack([r.inputs for r in rows]).to(model.device) if start else None  # type: ignore[misc]
    store: dict[int, torch.Tensor] = {}
    with torch.inference_mode(), _hooks(model, layer_plans, capture, store), _skipping(model, start, inputs):
        scores = _scores(model, ids, expand(cache, len(rows)), scorer, rows).cpu()
    return scores, store


def hooked_residuals(model: LoadedModel, inputs: dict[str, Any], layers: Sequence[int]) -> dict[int, torch.Tensor]:
    """The residuals after `layers` from one plain forward with hooks (no nnsight), under inference mode."""
    store: dict[int, torch.Tensor] = {}
    with torch.inference_mode(), _hooks(model, {}, layers, store):
        model.hf(**inputs)
    return store


@contextmanager
def _frozen(model: LoadedModel) -> Iterator[None]:
    """Parameters stop requiring grad, so a backward pass computes activation gradients only."""
    params = [p for p in model.hf.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def residual_grads(model: LoadedModel, rows: Sequence[Row], offset: int, cache: Any, scorer: Scorer,
                   weights: Sequence[float], layers: Sequence[int]) -> dict[int, torch.Tensor]:
    """Residuals after `layers` (their `.grad` filled) from one forward and one backward of
    sum_r weights[r] * score_r (the scorer's first column), after the one-row prefix `cache`."""
    ids = torch.tensor([list(r.ids[offset:]) for r in rows])
    store: dict[int, torch.Tensor] = {}
    with _frozen(model), torch.enable_grad(), _hooks(model, {}, layers, store, grad=True):
        scores = _scores(model, ids, expand(cache, len(ids)), scorer, rows)[:, 0]
        (scores * torch.tensor(weights, device=scores.device, dtype=scores.dtype)).sum().backward()
    return store
