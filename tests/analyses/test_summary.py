"""`python -m analyses summary`: a clear error before any results exist; else the sections whose tables are there."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from analyses.__main__ import main
from analyses.summary import print_summary


def test_summary_without_results_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["summary"]) == 2
    assert "results.duckdb" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _database(root: Path, tables: dict[str, pd.DataFrame]) -> None:
    (root / "outputs").mkdir()
    with duckdb.connect(str(root / "outputs" / "results.duckdb")) as con:
        for name, frame in tables.items():
            con.register("frame", frame)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")


def _verdict(model: str, question: str, answer: str) -> pd.DataFrame:
    return pd.DataFrame({"run_id": ["r"], "model": [model], "question": [question], "answer": [answer],
                         "evidence": ["..."]})


def test_summary_prints_the_sections_whose_tables_exist(tmp_path, monkeypatch):
    selected = pd.DataFrame({"run_id": ["r1"], "model": ["m1"], "method": ["mean_diff"], "layer": [7],
                             "depth_frac": [0.25], "select_auroc": [0.91], "selected_on": ["validation"],
                             "test_auroc": [0.876543], "ci_low": [0.8], "ci_high": [0.95]})
    _database(tmp_path, {
        "probes_selected": selected, "runs": pd.DataFrame({"run_id": ["r1"], "profile": ["smoke"]}),
        "patching_verdicts": _verdict("m1", "Q2 does patching the cue recover the choice?", "partly"),
        "ablation_verdicts": _verdict("m1", "Q1 is the probe lexical?", "no, it survives ablation"),
    })
    monkeypatch.chdir(tmp_path)
    lines: list[str] = []
    print_summary(lines.append)
    out = "\n".join(lines)
    assert lines[0].endswith("4 tables: ablation_verdicts, patching_verdicts, probes_selected, runs")
    assert "Probe layer chosen" in out and "0.877" in out  # rounded to 3 places
    verdicts = out.split("Causal verdicts")[1]
    # One section over both phases' tables (mediation did not run), ordered by question.
    assert verdicts.index("Q1 is the probe lexical?") < verdicts.index("Q2 does patching")
    assert "Nulls at the chosen layer" not in out and "Steering" not in out and "Test AUROC" not in out


def test_summary_skips_sections_with_no_rows(tmp_path, monkeypatch):
    _database(tmp_path, {"mediation_verdicts": _verdict("m1", "Q", "A").iloc[:0]})
    monkeypatch.chdir(tmp_path)
    lines: list[str] = []
    print_summary(lines.append)
    assert len(lines) == 1 and "1 tables: mediation_verdicts" in lines[0]
