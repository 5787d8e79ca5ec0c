"""`python -m core.models.vllm_worker` — the vLLM generation process (DESIGN §3: vLLM runs in its own
process, because it reserves most of the GPU's memory for its KV cache).

Protocol: one JSON job on stdin (see core.models.generation.VllmBackend.job); one JSON line per
finished work unit on the ORIGINAL stdout, {"unit": id, "results": [{request_id, token_ids,
finish_reason}]}. Everything else that anything in the process prints to stdout (vLLM logs there) is
redirected to stderr, so the result stream stays parseable. Prompts arrive as token ids (vLLM's
TokensPrompt: vLLM adds no special tokens to them), made by the caller with the same function and
tokenizer as the HF path; generation stops at the job's end-of-turn ids (`stop_token_ids`), and the
caller cuts and decodes the token ids. Every request carries its own sampling seed, so a row's text
does not depend on which rows share its batch.

This is the only module that imports vLLM: the module named by $EIA_VLLM_ENGINE, "vllm" when unset (tests
name a stand-in there; it is a test seam, not a knob, so it is not in params.yaml).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Any, TextIO

ENGINE_ENV = "EIA_VLLM_ENGINE"


def _result_stream() -> TextIO:
    """Keep the real stdout for results; send every other write to fd 1 to stderr."""
    results = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return results


def _engine(job: dict[str, Any]) -> tuple[Any, Any]:
    module = importlib.import_module(os.environ.get(ENGINE_ENV, "vllm"))
    llm = module.LLM(model=job["model"], revision=job["revision"], dtype=job["dtype"], seed=job["seed"],
                     tensor_parallel_size=job["tensor_parallel_size"], max_model_len=job["max_model_len"],
                     gpu_memory_utilization=job["gpu_memory_utilization"])
    return module, llm


def run_unit(module: Any, llm: Any, requests: list[dict[str, Any]], sampling: dict[str, Any],
             stop_token_ids: list[int]) -> list[dict]:
    """Generate one unit's requests in one engine call; results in request order."""
    prompts = [{"prompt_token_ids": r["prompt_token_ids"]} for r in requests]
    params = [module.SamplingParams(temperature=sampling["temperature"], top_p=sampling["top_p"],
                                    max_tokens=sampling["max_new_tokens"], seed=r["seed"],
                                    stop_token_ids=stop_token_ids) for r in requests]
    outputs = llm.generate(prompts, params, use_tqdm=False)
    results = []
    for r, out in zip(requests, outputs, strict=True):
        best = out.outputs[0]
        results.append({"request_id": r["request_id"], "token_ids": list(best.token_ids),
                        "finish_reason": best.finish_reason})
    return results


def main() -> int:
    results = _result_stream()
    job = json.loads(sys.stdin.read())
    module, llm = _engine(job)
    for unit in job["units"]:
        rows = run_unit(module, llm, unit["requests"], job["sampling"], job["stop_token_ids"])
        results.write(json.dumps({"unit": unit["unit"], "results": rows}) + "\n")
        results.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
