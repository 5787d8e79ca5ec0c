"""Dataset loading: the shipped data is valid; every kind of bad input is exit 2 with file:line."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.data import load_dataset
from core.errors import InputError

ROOT = Path(__file__).resolve().parents[3]
SCEN = ROOT / "data" / "scenarios.json"
V0_LINE = {"scenario_id": "the_maze", "scenario_title": "The maze", "empathic_text": "I reply to them first.",
           "non_empathic_text": "I open the second door.", "source_model": "test-writer", "run_id": 0,
           "generated_at": "2026-01-01T00:00:00", "format": "eia_scenario", "temperature": 0.7}


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "analyses", *args], cwd=cwd, capture_output=True, text=True,
                          env=env)


def _v0_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_shipped_dataset_is_valid():
    ds = load_dataset(ROOT / "data" / "dataset_expanded.json", SCEN)
    assert len(ds.texts) == len({t.text_id for t in ds.texts})
    assert {p.split for p in ds.pairs} == {"train", "validation", "test"}


def test_v0_jsonl_is_accepted(tmp_path):
    line = json.dumps(V0_LINE)
    path = _v0_file(tmp_path, [line, json.dumps({**V0_LINE, "scenario_id": "the_duel"})])
    ds = load_dataset(path, SCEN)
    assert len(ds.pairs) == 2 and ds.pairs[0].kind == "empathy_v0"
    result = _cli("validate-data", str(path))
    assert result.returncode == 0, result.stderr


def _bad_v0_cases() -> dict[str, tuple[list[str], int, str]]:
    ok = json.dumps(V0_LINE)
    missing = json.dumps({k: v for k, v in V0_LINE.items() if k != "empathic_text"})
    return {
        "malformed": ([ok, '{"scenario_id": "the_maze",'], 2, "malformed"),
        "missing_field": ([ok, ok, missing], 3, "empathic_text"),
        "wrong_type": ([json.dumps({**V0_LINE, "run_id": "zero"})], 1, "run_id"),
        "empty_text": ([ok, json.dumps({**V0_LINE, "non_empathic_text": "   "})], 2, "non_empathic_text"),
        "unknown_scenario": ([json.dumps({**V0_LINE, "scenario_id": "the_casino"})], 1, "scenario_id"),
    }


@pytest.mark.parametrize("case", sorted(_bad_v0_cases()))
def test_bad_v0_input_names_file_line_field(tmp_path, case):
    lines, line_no, needle = _bad_v0_cases()[case]
    path = _v0_file(tmp_path, lines)
    with pytest.raises(InputError) as err:
        load_dataset(path, SCEN)
    assert err.value.line == line_no
    assert f"{path}:{line_no}:" in str(err.value) and needle in str(err.value)


def test_non_utf8_is_rejected_with_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(json.dumps(V0_LINE).encode() + b"\n" + b'{"scenario_id": "caf\xe9"}\n')
    result = _cli("validate-data", str(path))
    assert result.returncode == 2
    assert f"{path}:2:" in result.stderr and "UTF-8" in result.stderr


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + (json.dumps(V0_LINE) + "\n").encode())
    assert len(load_dataset(path, SCEN).pairs) == 1
    bad = tmp_path / "bad.jsonl"  # after a BOM, lines and bad bytes are still located
    bad.write_bytes(codecs.BOM_UTF8 + json.dumps(V0_LINE).encode() + b"\n" + b'{"scenario_id": "caf\xe9"}\n')
    with pytest.raises(InputError) as err:
        load_dataset(bad, SCEN)
    assert err.value.line == 2 and "UTF-8" in str(err.value)


def _ours(tmp_path: Path, mutate) -> Path:
    src = json.loads((ROOT / "data" / "dataset_expanded.json").read_text())
    doc = {"format": src["format"], "instances": src["instances"][:2],
           "texts": [t for t in src["texts"] if t["instance_id"] in
                     {i["instance_id"] for i in src["instances"][:2]}], "steering_prompts": []}
    mutate(doc)
    path = tmp_path / "ours.json"
    body = ",\n".join(f' "{k}": ' + (json.dumps(v) if not isinstance(v, list) else
                                      "[\n" + ",\n".join("  " + json.dumps(r) for r in v) + "\n ]")
                      for k, v in doc.items())
    path.write_text("{\n" + body + "\n}\n")
    return path


def test_our_format_duplicate_id_points_at_second_line(tmp_path):
    path = _ours(tmp_path, lambda d: d["texts"].append(dict(d["texts"][0])))
    with pytest.raises(InputError) as err:
        load_dataset(path, SCEN)
    assert "duplicate text_id" in str(err.value)
    assert path.read_text().splitlines()[err.value.line - 1].lstrip().startswith("{")
    assert err.value.line == len(path.read_text().splitlines()) - 5  # the appended (last) text


def test_our_format_wrong_type_names_field(tmp_path):
    def mutate(d):
        d["texts"][1]["empathic"] = "yes"
    path = _ours(tmp_path, mutate)
    with pytest.raises(InputError) as err:
        load_dataset(path, SCEN)
    assert err.value.field == "empathic" and err.value.line is not None


def test_our_format_unknown_scenario(tmp_path):
    def mutate(d):
        d["instances"][0]["family"] = "the_casino"
    with pytest.raises(InputError, match="unknown scenario 'the_casino'"):
        load_dataset(_ours(tmp_path, mutate), SCEN)


@pytest.mark.parametrize("case", ["malformed", "unknown_scenario"])
def test_cli_exit_code_2_and_nothing_written(tmp_path, case):
    lines, line_no, _ = _bad_v0_cases()[case]
    path = _v0_file(tmp_path, lines)
    (tmp_path / "data").symlink_to(ROOT / "data")
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    result = _cli("probes", "--set", f"data.dataset={path}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f":{line_no}:" in result.stderr
    assert not (tmp_path / "outputs").exists()


def test_a_per_family_sample_keeps_whole_instances_nests_and_keeps_the_hash():
    full = load_dataset(ROOT / "data" / "v3" / "dataset.json", ROOT / "data" / "v3" / "scenarios.json")
    four = load_dataset(full.path, ROOT / "data" / "v3" / "scenarios.json", per_family=4, seed=1)
    two = full.sample_per_family(2, seed=1)
    per_family = {f: sum(i.family == f for i in four.instances.values()) for f in full.families}
    assert set(per_family.values()) == {4} and four.sha256 == full.sha256
    assert set(two.instances) < set(four.instances)  # smaller samples nest in larger
    assert {t.instance_id for t in four.texts} == set(four.instances)
    assert all(p.instance_id in four.instances for p in four.pairs) and len(four.pairs) == sum(
        p.instance_id in four.instances for p in full.pairs)
    assert full.sample_per_family(4, seed=2).instances.keys() != four.instances.keys()  # the seed decides
