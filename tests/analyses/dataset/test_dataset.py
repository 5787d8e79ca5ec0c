"""dataset phase: planning, resume after an interruption (in process and by SIGKILL), the vLLM path
with a fake engine, and promotion into a new data file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import analyses.dataset as phase
from analyses.__main__ import main
from core.config import load_params
from core.data import load_dataset
from core.data.lexicon import Lexicon
from core.models.generation import GenResult
from core.models.loader import load_tokenizer
from core.models.vllm_worker import ENGINE_ENV
from tests.conftest import ROOT, write_mini_dataset
from tests.core.models.fake_vllm import LOG_ENV

OUT = Path("outputs") / "dataset" / "smollm2-135m"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with its OWN data/ (a mini dataset), so promote never touches the real one."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("scenarios.json", "lexicon.json"):
        shutil.copy(ROOT / "data" / name, data / name)
    write_mini_dataset(data / "dataset_expanded.json", per_family=1)
    params = (ROOT / "params.yaml").read_text()  # the mini dataset is cut from v2: point data at it
    params = params.replace("data/v3/dataset.json", "data/dataset_expanded.json").replace(
        "data/v3/scenarios.json", "data/scenarios.json")
    (tmp_path / "params.yaml").write_text(params)
    monkeypatch.chdir(tmp_path)
    return tmp_path


class FakeBackend:
    """Writes 100-word texts; can stop after `fail_after` units, as a killed run would."""

    name, model_id, revision = "fake", "fake/generator", "r1"

    def __init__(self, fail_after: int | None = None):
        self.fail_after, self.asked = fail_after, []

    def generate_units(self, units):
        for n, (uid, requests) in enumerate(units):
            if self.fail_after is not None and n == self.fail_after:
                raise KeyboardInterrupt("killed")
            self.asked.append(uid)
            yield uid, [GenResult(r.request_id, f"{r.request_id} " + "word " * 99, 120, True, r.seed)
                        for r in requests]


def test_plan_groups_whole_instances_with_stable_seeds(project):
    params = load_params(overrides=["dataset.max_instances=8", "dataset.instances_per_unit=3", "dataset.samples=2"])
    ds = load_dataset(params.data.dataset, params.data.scenarios)
    units = phase.plan(ds, params.dataset, Lexicon.load(params.data.lexicon), "gen", params.seed)
    flat = [p for u in units for p in u]
    ids = [p.request.request_id for p in flat]
    assert len(ids) == len(set(ids)) and len({p.request.seed for p in flat}) == len(flat)
    assert len({p.gid for p in flat}) == 16 and len(units) == 6  # 8 instances x 2 samples, 3 per unit
    for unit in units:  # an instance's cells never straddle two units
        assert all(p.gid in {q.gid for q in unit} for p in unit)
    families = [p.instance.family for p in flat]
    assert len(set(families)) == 8  # round-robin over families
    crossed = {p.gid for p in flat if "crossed" in p.template}
    assert len(crossed) == 4  # every 4th instance: 2 of 8, x 2 samples
    again = phase.plan(ds, params.dataset, Lexicon.load(params.data.lexicon), "gen", params.seed)
    assert [p.request for u in again for p in u] == [p.request for p in flat]


def _texts() -> pd.DataFrame:
    return pd.read_parquet(OUT / "dataset_generated")


def test_interrupted_run_resumes_without_duplicates(project, monkeypatch):
    args = ["dataset", "--model", "smollm2-135m", "--set", "dataset.max_instances=6",
            "--set", "dataset.instances_per_unit=1"]
    first = FakeBackend(fail_after=2)
    monkeypatch.setitem(phase.BACKENDS, "transformers", lambda cfg, ctx: first)
    with pytest.raises(KeyboardInterrupt):
        main(args)
    staging = next((project / "outputs" / ".staging").iterdir())
    assert sorted(p.name for p in (staging / phase.TEXTS).iterdir()) == ["part-u0000.parquet", "part-u0001.parquet"]
    second = FakeBackend()
    monkeypatch.setitem(phase.BACKENDS, "transformers", lambda cfg, ctx: second)
    assert main(args) == 0
    assert second.asked == ["u0002", "u0003", "u0004", "u0005"]  # finished units are not redone
    texts, pairs = _texts(), pd.read_parquet(OUT / "dataset_generated_pairs")
    assert texts.text_id.is_unique and pairs.pair_id.is_unique and texts.instance_id.nunique() == 6
    assert texts.run_id.nunique() == 1  # the resumed run keeps its run_id
    summary = pd.read_parquet(OUT / "dataset_summary").iloc[0]
    assert summary.n_units == 6 and summary.n_units_resumed == 2 and summary.n_texts == len(texts)
    assert {"source", "temperature", "seed", "prompt_template", "generator_revision"} <= set(texts.columns)
    assert (texts.source == "fake/generator@r1").all() and texts.prompt_template.str.startswith("cell/").all()
    runs = pd.read_parquet(OUT / "runs")
    assert runs.model_revision.tolist() == ["r1"] and runs.dataset_hash.str.len().tolist() == [64]


def test_vllm_backend_through_the_phase_with_a_fake_engine(project, monkeypatch):
    log = project / "engine.jsonl"
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv(ENGINE_ENV, "tests.core.models.fake_vllm")
    monkeypatch.setenv(LOG_ENV, str(log))
    before = sorted(p.name for p in (project / "data").iterdir())
    args = ["dataset", "--backend", "vllm", "--set", "dataset.max_instances=3", "--set", "dataset.instances_per_unit=2"]
    assert main(args) == 0
    texts = _texts()
    assert (texts.backend == "vllm").all() and texts.text_id.is_unique and len(texts) == 12
    assert texts.seed.is_unique  # vLLM seeds every request
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls and all(c["pid"] != os.getpid() for c in calls)
    tok = load_tokenizer(load_params().model("smollm2-135m"))  # the tokenizer the HF path loads
    first = calls[0]["requests"][0]["prompt_token_ids"]
    assert tok.decode(first).startswith("<|im_start|>system") and (texts.text != "").all()
    assert sorted(p.name for p in (project / "data").iterdir()) == before  # the phase never writes data/


def _review_sheet(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    df = pd.DataFrame(rows, columns=["pair_id", "label_ok_a", "label_ok_b", "realism"]).assign(note="")
    df.to_csv(path, index=False)
    return path


def test_promote_takes_accepted_pairs_into_a_new_file(project, monkeypatch, capsys):
    monkeypatch.setitem(phase.BACKENDS, "transformers", lambda cfg, ctx: FakeBackend())
    assert main(["dataset", "--set", "dataset.max_instances=2"]) == 0
    assert main(["dataset", "promote"]) == 2  # nothing reviewed yet
    pairs = pd.read_parquet(OUT / "dataset_generated_pairs")
    ok, bad = pairs.pair_id.iloc[0], pairs.pair_id.iloc[1]
    sheet = _review_sheet(project / "filled.csv", [(ok, "yes", "yes", "4"), (bad, "yes", "no", "5")])
    assert main(["review", "import", str(sheet)]) == 0
    capsys.readouterr()
    assert main(["dataset", "promote"]) == 0
    assert "dvc add data && dvc push" in capsys.readouterr().out
    new = project / "data" / "dataset_expanded_v2.json"
    ds = load_dataset(new, project / "data" / "scenarios.json")
    gen = [t for t in ds.texts if t.source != "authored"]
    row = pairs[pairs.pair_id == ok].iloc[0]
    assert {t.text_id for t in gen} == {row.text_id_a, row.text_id_b}
    raw = [json.loads(line.rstrip(",\n")) for line in new.read_text().splitlines() if '"text_id"' in line]
    promoted = [r for r in raw if r["source"] != "authored"]
    assert all(r["temperature"] == 0.8 and isinstance(r["seed"], int) and r["prompt_template"].startswith("cell/")
               for r in promoted)
    assert main(["dataset", "promote", "--all"]) == 0
    third = project / "data" / "dataset_expanded_v3.json"
    assert len(load_dataset(third, project / "data" / "scenarios.json").texts) > len(ds.texts)


@pytest.mark.slow
def test_killed_process_resumes_without_duplicates(project):
    tiny = ["--set", "models.tiny-llama.source=tiny", "--set", "models.tiny-llama.hf_id=tiny-llama",
            "--set", "models.tiny-llama.family=llama"]
    args = [sys.executable, "-m", "analyses", "dataset", "--model", "tiny-llama", *tiny,
            "--set", "dataset.max_instances=10", "--set", "dataset.instances_per_unit=1",
            "--set", "dataset.max_new_tokens=16"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = project / "outputs" / ".staging"
    deadline = time.time() + 120
    while time.time() < deadline and not list(staging.glob(f"*/{phase.PAIRS}/part-*.parquet")):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    written = len(list(staging.glob(f"*/{phase.PAIRS}/part-*.parquet")))
    assert 1 <= written < 10, "the run must be killed part-way"
    assert subprocess.run(args, env=env, capture_output=True).returncode == 0
    out = project / "outputs" / "dataset" / "tiny-llama"
    texts, pairs = pd.read_parquet(out / phase.TEXTS), pd.read_parquet(out / phase.PAIRS)
    assert texts.text_id.is_unique and pairs.pair_id.is_unique
    assert texts.instance_id.nunique() == 10 and texts.run_id.nunique() == 1
    summary = pd.read_parquet(out / "dataset_summary").iloc[0]
    assert summary.n_units_resumed == written
    clean = project / "clean"  # the same project, never killed
    clean.mkdir()
    shutil.copytree(project / "data", clean / "data")
    shutil.copy(project / "params.yaml", clean / "params.yaml")
    assert subprocess.run(args, env=env, capture_output=True, cwd=clean).returncode == 0
    ref = clean / "outputs" / "dataset" / "tiny-llama"
    for table in (phase.TEXTS, phase.PAIRS):
        ours, theirs = (pd.read_parquet(folder / table).drop(columns="run_id") for folder in (out, ref))
        assert ours.equals(theirs), f"{table} differs from an uninterrupted run's"
