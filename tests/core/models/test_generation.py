"""Generation backends: transformers (tiny model: padding, seeding, chat template) and vLLM (fake engine
in a real subprocess)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.config import ModelSpec
from core.models.generation import (
    GenRequest,
    Sampling,
    TransformersBackend,
    VllmBackend,
    VllmSettings,
    chat_ids,
    chat_messages,
    cut_at_eos,
    eos_ids,
    generate_batch,
)
from core.models.vllm_worker import ENGINE_ENV
from tests.core.models.fake_vllm import ECHO, LOG_ENV

ROOT = Path(__file__).resolve().parents[3]
FAKE = "tests.core.models.fake_vllm"  # a stand-in vllm module, named to the worker through ENGINE_ENV
PROMPTS = ["Say something about rain.", "Describe a long walk through a quiet city at night, step by step.",
           "Hi."]


@pytest.fixture(scope="module")
def tiny_llama():
    from core.models.loader import load_model

    return load_model("tiny-llama", ModelSpec(source="tiny", hf_id="tiny-llama", family="llama"))


def _rendered(model):
    return [chat_ids(model.tokenizer, "Be brief.", p) for p in PROMPTS]


def test_chat_template_is_applied(tiny_llama):
    text = chat_messages(tiny_llama.tokenizer, "SYS", "USER")
    assert text.index("SYS") < text.index("USER") and text.endswith("<|im_start|>assistant\n")


def test_system_role_folds_into_user_when_template_rejects_it():
    class NoSystem:
        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            if any(m["role"] == "system" for m in messages):
                raise ValueError("System role not supported")
            return "|".join(m["content"] for m in messages)

    assert chat_messages(NoSystem(), "SYS", "USER") == "SYS\n\nUSER"


def test_left_padded_batch_equals_one_prompt_at_a_time(tiny_llama):
    greedy = Sampling(temperature=0.0, top_p=1.0, max_new_tokens=12)
    prompts = _rendered(tiny_llama)
    batched = generate_batch(tiny_llama.hf, tiny_llama.tokenizer, prompts, greedy, seed=0)
    single = [generate_batch(tiny_llama.hf, tiny_llama.tokenizer, [p], greedy, seed=0)[0] for p in prompts]
    assert batched == single


def test_sampling_is_seeded(tiny_llama):
    s = Sampling(temperature=1.0, top_p=1.0, max_new_tokens=16)
    prompts = _rendered(tiny_llama)
    a = generate_batch(tiny_llama.hf, tiny_llama.tokenizer, prompts, s, seed=7)
    b = generate_batch(tiny_llama.hf, tiny_llama.tokenizer, prompts, s, seed=7)
    c = generate_batch(tiny_llama.hf, tiny_llama.tokenizer, prompts, s, seed=8)
    assert a == b and a != c
    assert all(0 < n <= 16 for _, n, _ in a)


def test_transformers_backend_yields_each_unit_with_its_seed(tiny_llama):
    backend = TransformersBackend(tiny_llama, Sampling(max_new_tokens=6, temperature=0.8, top_p=0.95))
    units = [("u0", [GenRequest("a", "S", "one", 11), GenRequest("b", "S", "two", 12)]),
             ("u1", [GenRequest("c", "S", "three", 13)])]
    out = list(backend.generate_units(units))
    assert [u for u, _ in out] == ["u0", "u1"]
    assert [[r.request_id for r in rs] for _, rs in out] == [["a", "b"], ["c"]]
    assert [r.seed for r in out[0][1]] == [11, 11] and out[1][1][0].seed == 13  # one RNG per batch
    assert backend.revision == "random-init"


def test_eos_ids_are_the_generation_configs_and_the_tokenizers():
    class Tok:
        eos_token_id = 2

    class Config:
        eos_token_id: object = None

    listed = Config()
    listed.eos_token_id = [32000, 32007, 2]
    one = Config()
    one.eos_token_id = 107
    assert eos_ids(listed, Tok()) == [32000, 32007, 2]
    assert eos_ids(one, Tok()) == [107, 2]
    assert eos_ids(Config(), Tok()) == [2]


def test_cut_at_eos_takes_the_first_of_any_end_of_turn_id():
    assert cut_at_eos([5, 6, 107, 7, 2, 8], [2, 107]) == [5, 6]
    assert cut_at_eos([5, 6, 2, 107], 107) == [5, 6, 2]
    assert cut_at_eos([5, 6], [2]) == [5, 6] and cut_at_eos([5, 6], None) == [5, 6]


def _greedy_ids(model, prompt, n):
    import torch

    x = torch.tensor([prompt])
    with torch.inference_mode():
        out = model.hf.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=n,
                                eos_token_id=None, pad_token_id=model.tokenizer.pad_token_id)
    return out[0, len(prompt):].tolist()


def test_generation_stops_and_is_cut_at_a_second_end_of_turn_id(tiny_llama):
    prompt = _rendered(tiny_llama)[0]
    free = _greedy_ids(tiny_llama, prompt, 12)  # no eos at all: where a second id would stop it
    k = next(i for i, t in enumerate(free) if i > 0 and t not in free[:i])
    config = tiny_llama.hf.generation_config
    saved = config.eos_token_id
    config.eos_token_id = [tiny_llama.tokenizer.eos_token_id, free[k]]  # like Phi-3's <|end|>, Gemma-2's 107
    try:
        greedy = Sampling(temperature=0.0, top_p=1.0, max_new_tokens=12)
        text, n, ended = generate_batch(tiny_llama.hf, tiny_llama.tokenizer, [prompt], greedy, seed=0)[0]
    finally:
        config.eos_token_id = saved
    assert (n, ended) == (k, True)
    assert text == tiny_llama.tokenizer.decode(free[:k], skip_special_tokens=True).strip()


def _vllm(model: str = "org/model", tokenizer=None) -> VllmBackend:
    spec = ModelSpec(source="hub", hf_id=model, revision="abc123", family="llama", dtype="bfloat16")
    sampling = Sampling(max_new_tokens=32, temperature=0.7, top_p=0.9)
    settings = VllmSettings(tensor_parallel_size=2)
    return VllmBackend(spec, sampling, settings, seed=5, tokenizer=tokenizer, eos=[2, 107])


def test_vllm_backend_runs_the_engine_in_its_own_process(monkeypatch, tmp_path, tiny_llama):
    log = tmp_path / "engine.jsonl"
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv(ENGINE_ENV, FAKE)
    monkeypatch.setenv(LOG_ENV, str(log))
    tok = tiny_llama.tokenizer
    units = [("u0", [GenRequest("a", "SYS", "first", 101), GenRequest("b", "SYS", "second", 102)]),
             ("u1", [GenRequest("c", "SYS", "third", 103)])]
    out = list(_vllm(tokenizer=tok).generate_units(units))
    assert [u for u, _ in out] == ["u0", "u1"]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    seen = [r for call in calls for r in call["requests"]]
    assert {c["pid"] for c in calls} != {os.getpid()} and len({c["pid"] for c in calls}) == 1
    assert [s["prompt_token_ids"] for s in seen] == [chat_ids(tok, "SYS", u) for u in ("first", "second", "third")]
    assert [s["seed"] for s in seen] == [101, 102, 103]  # a seed per request
    assert all(s["max_tokens"] == 32 and s["stop_token_ids"] == [2, 107] for s in seen)
    engine = calls[0]["engine"]
    assert engine["model"] == "org/model" and engine["revision"] == "abc123" and engine["seed"] == 5
    assert engine["tensor_parallel_size"] == 2 and engine["dtype"] == "bfloat16"
    first = out[0][1][0]  # the fake ran past its stop id: the reply is cut there and decoded here
    assert first.finished and first.n_tokens == ECHO and first.seed == 101
    assert first.text == tok.decode(seen[0]["prompt_token_ids"][-ECHO:], skip_special_tokens=True).strip()


def test_vllm_worker_failure_is_an_error(monkeypatch, tiny_llama):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv(ENGINE_ENV, FAKE)
    with pytest.raises(RuntimeError, match="exit code"):
        list(_vllm("boom", tiny_llama.tokenizer).generate_units([("u0", [GenRequest("a", "S", "x", 1)])]))


def test_only_the_worker_imports_vllm():
    offenders = []
    for folder in ("core", "analyses", "app"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if "import vllm" in text or "from vllm" in text or "import_module(\"vllm\")" in text:
                offenders.append(path.relative_to(ROOT))
    assert offenders == []
    worker = (ROOT / "core" / "models" / "vllm_worker.py").read_text()
    assert 'importlib.import_module(os.environ.get(ENGINE_ENV, "vllm"))' in worker


def test_auto_tensor_parallel_is_the_visible_gpu_count_at_run_time(monkeypatch, tiny_llama):
    import torch

    from core.models.generation import resolve_tensor_parallel

    assert resolve_tensor_parallel(2) == 2
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    assert resolve_tensor_parallel("auto") == 3
    base = _vllm(tokenizer=tiny_llama.tokenizer)
    backend = VllmBackend(base.spec, base.sampling, VllmSettings(tensor_parallel_size="auto"), seed=5,
                          tokenizer=base.tokenizer, eos=base.eos)
    assert backend.job([])["tensor_parallel_size"] == 3
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(RuntimeError, match="vllm_tensor_parallel_size is auto"):
        resolve_tensor_parallel("auto")
