"""collect: every published table (and each derived one) in results.duckdb, collect's own included."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analyses.__main__ import main
from tests.conftest import ROOT


def _publish(outputs: Path, phase: str, table: str, frame: pd.DataFrame) -> None:
    path = outputs / phase / "_all" / table / "part-final.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose probes phase has published, and with a previous collect's (stale) tables."""
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    out = tmp_path / "outputs"
    _publish(out, "probes", "probes_selected", pd.DataFrame(
        {"run_id": ["r1", "r1"], "model": ["m1", "m1"], "method": ["mean_diff", "logistic"], "layer": [3, 4]}))
    _publish(out, "probes", "runs", pd.DataFrame({"run_id": ["r1"], "phase": ["probes"], "profile": ["smoke"]}))
    _publish(out, "collect", "runs", pd.DataFrame({"run_id": ["old"], "phase": ["collect"], "profile": ["smoke"]}))
    _publish(out, "collect", "collect_tables", pd.DataFrame({"table_name": ["stale"], "n_rows": [9]}))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _sql(root: Path, query: str) -> pd.DataFrame:
    with duckdb.connect(str(root / "outputs" / "results.duckdb"), read_only=True) as con:
        return con.sql(query).df()


def test_collect_tables_count_what_the_phases_published(project: Path) -> None:
    assert main(["collect"]) == 0
    counts = _sql(project, "SELECT * FROM collect_tables")
    # The stale collect folder is replaced, not counted; the derived table is counted.
    assert dict(zip(counts.table_name, counts.n_rows, strict=True)) == {
        "probes_selected": 2, "runs": 1, "probes_profiles": 2}


def test_the_database_holds_collects_own_tables(project: Path) -> None:
    assert main(["collect"]) == 0
    runs = _sql(project, "SELECT run_id, phase FROM runs ORDER BY phase")
    assert list(runs.phase) == ["collect", "probes"] and "old" not in set(runs.run_id)
    (collect_run,) = _sql(project, "SELECT DISTINCT run_id FROM collect_tables").run_id
    assert collect_run == runs.run_id[0]
    profiles = _sql(project, "SELECT profile, method, layer FROM probes_profiles")
    assert profiles.values.tolist() == [["smoke", "logistic", 4], ["smoke", "mean_diff", 3]]
