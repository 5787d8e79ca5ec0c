"""Batched, seeded text generation behind one interface, with two backends (DESIGN §3, P2).

- `transformers`: HF `generate` on a loaded model (the embedded model on CPU, or any hub model).
  Prompts are rendered with the model's chat template and LEFT-padded, so every row's last prompt
  token sits at the same position and the new tokens follow it directly. Sampling is seeded per
  batch (the unit's seed), so a unit reproduces exactly when it is rerun with the same rows.
- `vllm`: a subprocess, `python -m core.models.vllm_worker`, that owns the GPU (vLLM reserves most of
  its memory) and is the only code that imports vLLM. It receives the whole job on stdin and returns
  one JSON line per finished work unit, so the caller can store each unit as it arrives.

Both yield (unit id, results) per work unit; a unit is what the caller stores as one part.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from core.config import ModelSpec

Unit = tuple[str, list["GenRequest"]]


@dataclass(frozen=True)
class GenRequest:
    request_id: str
    system: str
    user: str
    seed: int


@dataclass(frozen=True)
class GenResult:
    request_id: str
    text: str
    n_tokens: int
    finished: bool  # stopped at end-of-turn, not at the token budget
    seed: int  # the seed that governed this row's sampling


@dataclass(frozen=True, kw_only=True)
class Sampling:
    """How new tokens are drawn (keywords only: dataset generation and steering share it)."""

    max_new_tokens: int
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0


def chat_messages(tokenizer: Any, system: str, user: str) -> str:
    """The prompt string for (system, user) under the model's chat template, ready for the reply.

    Some templates (Gemma) reject a system role; the system text then opens the user turn.
    """
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    try:
        return str(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
    except Exception:  # noqa: BLE001 - jinja raises its own TemplateError type for unsupported roles
        merged = [{"role": "user", "content": f"{system}\n\n{user}"}]
        return str(tokenizer.apply_chat_template(merged, tokenize=False, add_generation_prompt=True))


def generate_batch(model: Any, tokenizer: Any, prompts: list[str], sampling: Sampling, seed: int
                   ) -> list[tuple[str, int, bool]]:
    """One `generate` call over left-padded prompts: (text, new tokens, stopped at EOS) per row."""
    import torch

    enc = tokenizer(prompts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
    enc = {k: v.to(model.device) for k, v in enc.items()}
    sample = sampling.temperature > 0
    kwargs: dict[str, Any] = {"do_sample": sample, "max_new_tokens": sampling.max_new_tokens,
                              "pad_token_id": tokenizer.pad_token_id}
    if sample:
        kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p)
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        torch.manual_seed(seed)
        out = model.generate(**enc, **kwargs)
    new = out[:, enc["input_ids"].shape[1]:]
    eos = set(_eos_ids(model, tokenizer))
    rows = []
    for row in new.tolist():
        ended = next((i for i, t in enumerate(row) if t in eos), None)
        kept = row if ended is None else row[:ended]
        rows.append((tokenizer.decode(kept, skip_special_tokens=True).strip(), len(kept), ended is not None))
    return rows


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids = model.generation_config.eos_token_id
    ids = list(ids) if isinstance(ids, list | tuple) else [ids]
    return [i for i in [*ids, tokenizer.eos_token_id] if i is not None]


class TransformersBackend:
    """Generation with HF transformers on a loaded model: one batched `generate` per unit."""

    name = "transformers"

    def __init__(self, loaded: Any, sampling: Sampling):
        self.loaded, self.sampling = loaded, sampling
        self.model_id, self.revision = loaded.spec.hf_id, loaded.revision

    def generate_units(self, units: list[Unit]) -> Iterator[tuple[str, list[GenResult]]]:
        tok = self.loaded.tokenizer
        for unit_id, requests in units:
            prompts = [chat_messages(tok, r.system, r.user) for r in requests]
            seed = requests[0].seed  # one RNG per batch: the unit's first request seeds it
            rows = generate_batch(self.loaded.hf, tok, prompts, self.sampling, seed)
            yield unit_id, [GenResult(r.request_id, text, n, done, seed)
                            for r, (text, n, done) in zip(requests, rows, strict=True)]


def resolve_tensor_parallel(size: int | str) -> int:
    """vLLM's tensor-parallel size: an int as given; "auto" = the GPUs this process sees
    (torch.cuda.device_count(), so CUDA_VISIBLE_DEVICES narrows it). No GPU: an error naming the knob."""
    if size != "auto":
        return int(size)
    import torch

    count = torch.cuda.device_count()
    if count < 1:
        raise RuntimeError("dataset.vllm_tensor_parallel_size is auto, but no CUDA GPU is visible")
    return count


@dataclass(frozen=True)
class VllmSettings:
    tensor_parallel_size: int | str = 1  # "auto": every visible GPU, counted when the job is built
    max_model_len: int = 4096
    gpu_memory_utilization: float = 0.9


class VllmBackend:
    """Generation in a vLLM subprocess; yields each unit as the worker reports it."""

    name = "vllm"

    def __init__(self, spec: ModelSpec, sampling: Sampling, settings: VllmSettings, seed: int):
        self.spec, self.sampling, self.settings, self.seed = spec, sampling, settings, seed
        self.model_id, self.revision = spec.hf_id, spec.revision

    def job(self, units: list[Unit]) -> dict[str, Any]:
        """The JSON job sent to the worker (a tensor-parallel size of "auto" resolved here, at run time)."""
        settings = {**asdict(self.settings),
                    "tensor_parallel_size": resolve_tensor_parallel(self.settings.tensor_parallel_size)}
        return {"model": self.spec.hf_id, "revision": self.spec.revision, "dtype": self.spec.dtype,
                "seed": self.seed, "sampling": asdict(self.sampling), **settings,
                "units": [{"unit": uid, "requests": [asdict(r) for r in reqs]} for uid, reqs in units]}

    def generate_units(self, units: list[Unit]) -> Iterator[tuple[str, list[GenResult]]]:
        if not units:
            return
        cmd = [sys.executable, "-m", "core.models.vllm_worker"]
        # stderr is inherited: vLLM's own log and progress stay visible to the user
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(self.job(units)))
            proc.stdin.close()
            for line in proc.stdout:
                msg = json.loads(line)
                yield msg["unit"], [GenResult(**r) for r in msg["results"]]
            code = proc.wait()
        finally:
            if proc.poll() is None:  # the caller stopped early (error, Ctrl-C): do not leave the GPU held
                proc.terminate()
                proc.wait()
        if code != 0:
            raise RuntimeError(f"vLLM worker failed with exit code {code} (its log is above; vLLM needs a GPU "
                               f"and `pip install .[gpu]`)")
