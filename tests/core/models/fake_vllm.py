"""A stand-in for the `vllm` module (LLM, SamplingParams) so the vLLM worker runs without a GPU.

Prompts must arrive as token ids (a TokensPrompt dict: a string would be tokenized by vLLM with special
tokens added). Each reply is the prompt's last few ids, then the request's last stop id, then two more
ids: an engine that runs past the end of turn, so the caller's cut is what removes them. When
$EIA_FAKE_VLLM_LOG names a file, every generate call appends one JSON line of what the engine saw:
its process id, constructor arguments, and each request's prompt ids, seed, budget and stop ids.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

LOG_ENV = "EIA_FAKE_VLLM_LOG"
ECHO = 5  # prompt ids echoed back as the reply


@dataclass
class SamplingParams:
    temperature: float
    top_p: float
    max_tokens: int
    seed: int | None = None
    stop_token_ids: list[int] | None = None


@dataclass
class _Completion:
    token_ids: list[int]
    finish_reason: str = "stop"
    text: str = "vLLM's own detokenized text, which the caller must not use"


@dataclass
class _Output:
    outputs: list[_Completion] = field(default_factory=list)


class LLM:
    def __init__(self, **kwargs):
        if kwargs["model"] == "boom":
            raise RuntimeError("fake engine failed to start")
        self.kwargs = kwargs
        print("fake vLLM engine log line on stdout")  # the worker must keep this out of its result stream

    def generate(self, prompts, params, use_tqdm=True):
        seen = [{"prompt_token_ids": p["prompt_token_ids"], **asdict(s)} for p, s in zip(prompts, params, strict=True)]
        if os.environ.get(LOG_ENV):
            with open(os.environ[LOG_ENV], "a") as log:
                log.write(json.dumps({"pid": os.getpid(), "engine": self.kwargs, "requests": seen}) + "\n")
        return [_Output([_Completion(self._reply(s))]) for s in seen]

    @staticmethod
    def _reply(seen: dict) -> list[int]:
        body = seen["prompt_token_ids"][-ECHO:][: max(seen["max_tokens"] - 3, 0)]
        return [*body, seen["stop_token_ids"][-1], *body[:2]]
