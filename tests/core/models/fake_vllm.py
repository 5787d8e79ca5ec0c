"""A stand-in for the `vllm` module (LLM, SamplingParams) so the vLLM worker runs without a GPU.

Each output's text is JSON describing what the engine saw: its process id, the rendered prompt,
the request's seed and the engine's constructor arguments.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field


@dataclass
class SamplingParams:
    temperature: float
    top_p: float
    max_tokens: int
    seed: int | None = None


class _Tokenizer:
    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        body = "".join(f"<{m['role']}>{m['content']}" for m in messages)
        return f"<chat>{body}<assistant>"


@dataclass
class _Completion:
    text: str
    token_ids: list[int]
    finish_reason: str = "stop"


@dataclass
class _Output:
    outputs: list[_Completion] = field(default_factory=list)


class LLM:
    def __init__(self, **kwargs):
        if kwargs["model"] == "boom":
            raise RuntimeError("fake engine failed to start")
        self.kwargs = kwargs
        print("fake vLLM engine log line on stdout")  # the worker must keep this out of its result stream

    def get_tokenizer(self):
        return _Tokenizer()

    def generate(self, prompts, params, use_tqdm=True):
        outs = []
        for prompt, p in zip(prompts, params, strict=True):
            text = json.dumps({"pid": os.getpid(), "prompt": prompt, "seed": p.seed, "max_tokens": p.max_tokens,
                               "engine": self.kwargs})
            outs.append(_Output([_Completion(" " + text + " ", list(range(min(p.max_tokens, 7))))]))
        return outs
