"""`python -m analyses summary` before any results exist: a clear error, exit 2, nothing written."""

from __future__ import annotations

from analyses.__main__ import main


def test_summary_without_results_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["summary"]) == 2
    assert "results.duckdb" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
