"""Catalog: views over Parquet parts, paging, guarded filters, CSV export (no results.duckdb)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from app.catalog import PAGE_SIZE, Catalog, FilterError, format_cell


@pytest.fixture
def catalog(repo: Path) -> Iterator[Catalog]:
    cat = Catalog(repo / "outputs")
    yield cat
    cat.close()


def test_one_view_per_published_table(catalog: Catalog) -> None:
    assert catalog.tables() == ["extract_summary", "probes_auroc", "runs"]  # no staged/hidden tables
    assert catalog.phases_of("runs") == ["extract", "probes"]
    sql = "SELECT view_name FROM duckdb_views() WHERE NOT internal"
    views = {r[0] for r in catalog.con.execute(sql).fetchall()}
    assert views == set(catalog.tables())
    assert catalog.count("runs") == 2  # the union of both phases' parts
    assert catalog.count("probes_auroc") == 252  # the staging and .old copies are not counted


def test_empty_outputs_has_no_views(tmp_path: Path) -> None:
    cat = Catalog(tmp_path / "missing")
    assert cat.tables() == []
    with pytest.raises(KeyError):
        cat.page("probes_auroc")


def test_paging_covers_every_row_once(catalog: Catalog) -> None:
    seen = []
    for offset in range(0, 252, PAGE_SIZE):
        columns, rows = catalog.page("probes_auroc", None, PAGE_SIZE, offset)
        assert columns[:3] == ["run_id", "model", "layer"]
        seen += rows
    assert [len(catalog.page("probes_auroc", None, PAGE_SIZE, o)[1]) for o in (0, 100, 200)] == [100, 100, 52]
    assert len(set(seen)) == 252


def test_filter_narrows_rows(catalog: Catalog) -> None:
    where = "split = 'test' AND layer >= 40"
    assert catalog.count("probes_auroc", where) == 4
    _, rows = catalog.page("probes_auroc", where)
    assert {r[2] for r in rows} == {40, 41}


@pytest.mark.parametrize("where", ["1=1; DROP VIEW runs", "1=1 -- ", "1=1 /* x */"])
def test_filter_rejects_separators_and_comments(catalog: Catalog, where: str) -> None:
    with pytest.raises(FilterError):
        catalog.page("runs", where)
    assert catalog.count("runs") == 2  # nothing was dropped


def test_filter_stays_inside_the_select(catalog: Catalog) -> None:
    # A closing parenthesis cannot escape the subquery into a second statement...
    with pytest.raises(FilterError):
        catalog.page("runs", "1=1)) UNION SELECT 1 FROM ((SELECT 1")
    # ...and the connection cannot reach files outside outputs/ (nor re-enable that).
    with pytest.raises(FilterError):
        catalog.page("runs", "1 = (SELECT count(*) FROM read_text('/etc/hostname'))")
    with pytest.raises(duckdb.Error):
        catalog.con.execute("SET enable_external_access=true")


def test_bad_column_is_a_filter_error(catalog: Catalog) -> None:
    with pytest.raises(FilterError, match="nonexistent"):
        catalog.count("runs", "nonexistent > 1")


def test_export_writes_filtered_csv(catalog: Catalog, repo: Path) -> None:
    path = catalog.export_csv("probes_auroc", "split = 'test'", repo / "outputs/exports/t.csv")
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 84 and {r["split"] for r in rows} == {"test"}
    # A CSV under outputs/ is never mistaken for a table.
    assert Catalog(repo / "outputs").tables() == ["extract_summary", "probes_auroc", "runs"]


def test_refresh_picks_up_new_and_removed_tables(catalog: Catalog, repo: Path) -> None:
    (repo / "outputs/extract/m1/extract_summary/part-final.parquet").unlink()
    assert catalog.refresh() == ["probes_auroc", "runs"]


def test_auroc_by_layer_series(catalog: Catalog) -> None:
    series = catalog.auroc_by_layer("test")
    assert sorted(series) == ["m1 logistic", "m1 mean_diff"]
    layers, aurocs = series["m1 logistic"]
    assert layers == list(range(42)) and aurocs[0] == pytest.approx(0.55)


def test_format_cell() -> None:
    assert format_cell(None) == ""
    assert format_cell(0.123456789) == "0.1235"
    assert format_cell([0.1] * 576).startswith("[576] 0.1, 0.1")
    assert len(format_cell("x" * 100)) == 40


def test_derived_tables_are_views_listed_under_collect(catalog: Catalog, repo: Path) -> None:
    assert "probes_profiles" not in catalog.tables()  # probes_selected is not published yet
    selected = _part(repo, "probes_selected")
    pd.DataFrame({"run_id": ["r-probes"], "model": ["m1"], "method": ["mean_diff"], "layer": [40]}).to_parquet(selected)
    pd.DataFrame({"run_id": ["r-probes"], "phase": ["probes"], "profile": ["smoke"]}).to_parquet(_part(repo, "runs"))
    tables = catalog.refresh()
    # core.views.CLAIMS' queries are views too, so a Findings row can open the rows of its claim.
    assert [t for t in tables if not t.startswith("claims_")] == [
        "extract_summary", "probes_auroc", "probes_profiles", "probes_selected", "runs"]
    assert "claims_probes" in tables and catalog.phases_of("claims_probes") == ["collect"]
    assert catalog.phases_of("probes_profiles") == ["collect"]
    assert catalog.page("probes_profiles") == (["profile", "method", "layer", "model", "run_id"],
                                               [("smoke", "mean_diff", 40, "m1", "r-probes")])
    assert catalog.count("probes_profiles", "layer = 41") == 0
    selected.unlink()
    assert {"probes_profiles", "claims_probes"}.isdisjoint(catalog.refresh())
    with pytest.raises(KeyError):
        catalog.count("probes_profiles")


def test_a_derived_table_over_a_foreign_schema_is_left_out(repo: Path) -> None:
    # The fixture's runs have no profile column: no view, and the other tables still show.
    pd.DataFrame({"run_id": ["r-probes"], "model": ["m1"]}).to_parquet(_part(repo, "probes_selected"))
    cat = Catalog(repo / "outputs")
    assert [t for t in cat.tables() if not t.startswith("claims_")] == [
        "extract_summary", "probes_auroc", "probes_selected", "runs"]
    cat.close()


def _part(repo: Path, table: str) -> Path:
    path = repo / "outputs/probes/m1" / table / "part-final.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
