"""Batched, seeded text generation behind one interface, with two backends (DESIGN §3, P2).

- `transformers`: HF `generate` on a loaded model (the embedded model on CPU, or any hub model).
  Prompts are LEFT-padded, so every row's last prompt token sits at the same position and the new
  tokens follow it directly. Sampling is seeded per batch (the unit's seed), so a unit reproduces
  exactly when it is rerun with the same rows.
- `vllm`: a subprocess, `python -m core.models.vllm_worker`, that owns the GPU (vLLM reserves most of
  its memory) and is the only code that imports vLLM. It receives the whole job on stdin and returns
  one JSON line per finished work unit, so the caller can store each unit as it arrives.

Both backends feed the model the same token ids and read its reply the same way:
- prompt: `chat_ids`, the chat template rendered and tokenized WITHOUT added special tokens, so the
  template's own BOS (Llama-3, Gemma, Mistral/Mixtral) is the only one; a rendered string handed to
  vLLM would be tokenized with special tokens added, i.e. two BOS. Phi-3's template has no BOS, and we
  add none: the ids are what its authors' template and HF's own `apply_chat_template(tokenize=True)` give.
  The vLLM worker receives ids (vLLM's TokensPrompt), tokenized in this process by the same tokenizer
  the HF path loads.
- end of turn: `eos_ids`, the union of the generation config's `eos_token_id` and the tokenizer's.
  Phi-3 ends a turn with <|end|> and Gemma-2 with <end_of_turn>, both listed only in the generation
  config; generation stops at any of them (HF `eos_token_id`, vLLM `stop_token_ids`) and `finish` cuts
  the reply at the first one and decodes it, the same way for both backends.

Both yield (unit id, results) per work unit; a unit is what the caller stores as one part.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Collection, Iterator
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


def chat_ids(tokenizer: Any, system: str, user: str) -> list[int]:
    """Token ids of the (system, user) chat prompt, ready for the reply, as both backends feed them:
    the rendered template tokenized without added special tokens (its own BOS, if any, is the only one)."""
    return list(tokenizer(chat_messages(tokenizer, system, user), add_special_tokens=False)["input_ids"])


def eos_ids(generation_config: Any, tokenizer: Any) -> list[int]:
    """The ids that end a turn: the generation config's `eos_token_id` (an id or a list) and the
    tokenizer's, in that order, without repeats."""
    listed = getattr(generation_config, "eos_token_id", None)
    listed = list(listed) if isinstance(listed, list | tuple) else [listed]
    out: list[int] = []
    for i in [*listed, tokenizer.eos_token_id]:
        if i is not None and int(i) not in out:
            out.append(int(i))
    return out


def cut_at_eos(tokens: list[int], eos: int | Collection[int] | None) -> list[int]:
    """`tokens` up to (without) the first end-of-turn id."""
    stop = {eos} if isinstance(eos, int) else set(eos or ())
    return next((tokens[:i] for i, t in enumerate(tokens) if t in stop), tokens)


def finish(tokenizer: Any, tokens: list[int], eos: Collection[int]) -> tuple[str, int, bool]:
    """A generated row as (text, tokens kept, ended at end of turn): cut at the first eos id, decoded
    without special tokens."""
    kept = cut_at_eos(tokens, eos)
    return tokenizer.decode(kept, skip_special_tokens=True).strip(), len(kept), len(kept) < len(tokens)


def generate_batch(model: Any, tokenizer: Any, prompts: list[list[int]], sampling: Sampling, seed: int
                   ) -> list[tuple[str, int, bool]]:
    """One `generate` call over left-padded prompt ids: (text, new tokens, stopped at end of turn) per row."""
    import torch

    from core.models.rows import left_pad

    ids, mask = left_pad(prompts, tokenizer.pad_token_id)
    eos = eos_ids(model.generation_config, tokenizer)
    sample = sampling.temperature > 0
    kwargs: dict[str, Any] = {"do_sample": sample, "max_new_tokens": sampling.max_new_tokens,
                              "pad_token_id": tokenizer.pad_token_id, "eos_token_id": eos}
    if sample:
        kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p)
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        torch.manual_seed(seed)
        out = model.generate(input_ids=ids.to(model.device), attention_mask=mask.to(model.device), **kwargs)
    return [finish(tokenizer, row, eos) for row in out[:, ids.shape[1]:].tolist()]


class TransformersBackend:
    """Generation with HF transformers on a loaded model: one batched `generate` per unit."""

    name = "transformers"

    def __init__(self, loaded: Any, sampling: Sampling):
        self.loaded, self.sampling = loaded, sampling
        self.model_id, self.revision = loaded.spec.hf_id, loaded.revision

    def generate_units(self, units: list[Unit]) -> Iterator[tuple[str, list[GenResult]]]:
        tok = self.loaded.tokenizer
        for unit_id, requests in units:
            prompts = [chat_ids(tok, r.system, r.user) for r in requests]
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
    """Generation in a vLLM subprocess; yields each unit as the worker reports it.

    The prompt ids and the end-of-turn ids are made here, with the tokenizer and generation config that
    `load_model` gives the same spec (no weights loaded), and the worker's token ids are decoded here:
    the worker only runs the engine.
    """

    name = "vllm"

    def __init__(self, spec: ModelSpec, sampling: Sampling, settings: VllmSettings, seed: int,
                 tokenizer: Any = None, eos: list[int] | None = None):
        from core.models.loader import load_generation_config, load_tokenizer

        self.spec, self.sampling, self.settings, self.seed = spec, sampling, settings, seed
        self.model_id, self.revision = spec.hf_id, spec.revision
        self.tokenizer = load_tokenizer(spec) if tokenizer is None else tokenizer
        self.eos = eos_ids(load_generation_config(spec), self.tokenizer) if eos is None else eos

    def job(self, units: list[Unit]) -> dict[str, Any]:
        """The JSON job sent to the worker: prompts as token ids (`chat_ids`), the end-of-turn ids, and a
        tensor-parallel size of "auto" resolved here, at run time."""
        settings = {**asdict(self.settings),
                    "tensor_parallel_size": resolve_tensor_parallel(self.settings.tensor_parallel_size)}
        return {"model": self.spec.hf_id, "revision": self.spec.revision, "dtype": self.spec.dtype,
                "seed": self.seed, "sampling": asdict(self.sampling), **settings,
                "stop_token_ids": self.eos,
                "units": [{"unit": uid, "requests": [self._request(r) for r in reqs]} for uid, reqs in units]}

    def _request(self, r: GenRequest) -> dict[str, Any]:
        return {"request_id": r.request_id, "seed": r.seed,
                "prompt_token_ids": chat_ids(self.tokenizer, r.system, r.user)}

    def _result(self, seed: int, reply: dict[str, Any]) -> GenResult:
        text, n, ended = finish(self.tokenizer, reply["token_ids"], self.eos)
        # vLLM's "stop": it met a stop id; whether the id is in token_ids or not, the turn ended
        return GenResult(reply["request_id"], text, n, ended or reply["finish_reason"] == "stop", seed)

    def generate_units(self, units: list[Unit]) -> Iterator[tuple[str, list[GenResult]]]:
        if not units:
            return
        seeds = {r.request_id: r.seed for _, reqs in units for r in reqs}
        cmd = [sys.executable, "-m", "core.models.vllm_worker"]
        # stderr is inherited: vLLM's own log and progress stay visible to the user
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(self.job(units)))
            proc.stdin.close()
            for line in proc.stdout:
                msg = json.loads(line)
                yield msg["unit"], [self._result(seeds[r["request_id"]], r) for r in msg["results"]]
            code = proc.wait()
        finally:
            if proc.poll() is None:  # the caller stopped early (error, Ctrl-C): do not leave the GPU held
                proc.terminate()
                proc.wait()
        if code != 0:
            raise RuntimeError(f"vLLM worker failed with exit code {code} (its log is above; vLLM needs a GPU "
                               f"and `pip install .[gpu]`)")
