"""core.views: the named results SQL binds to the tables it declares and computes what it says."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from core import views
from tests.conftest import ROOT

ALL_QUERIES = [*views.DERIVED.values(), *views.SUMMARY]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    yield con
    con.close()


def _verdicts(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[str, str, str]], **extra: str) -> None:
    frame = pd.DataFrame(rows, columns=["model", "question", "answer"]).assign(**extra)
    con.register("frame", frame)
    con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
    con.unregister("frame")


def test_render_needs_every_table() -> None:
    query = views.Query("t", "SELECT 1", needs=("a", "b"))
    assert query.render({"a", "b", "c"}) == "SELECT 1"
    assert query.render({"a"}) is None


def test_render_any_of_stacks_only_the_tables_present() -> None:
    query = views.Query("t", f"SELECT * FROM {views.ANY_OF}", any_of=("x", "y", "z"))
    assert query.render({"y", "other"}) == 'SELECT * FROM (SELECT * FROM "y")'
    assert query.render({"x", "z"}) == 'SELECT * FROM (SELECT * FROM "x" UNION ALL BY NAME SELECT * FROM "z")'
    assert query.render({"other"}) is None


@pytest.mark.parametrize("query", ALL_QUERIES, ids=lambda q: q.title[:30])
def test_every_query_declares_the_tables_it_reads(query: views.Query) -> None:
    # A table read but not declared would make the query fail where that table is missing.
    read = set(re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", query.sql)) - {"any_of"}
    assert read <= set(query.needs) | set(query.any_of)
    assert read or query.any_of
    assert (views.ANY_OF in query.sql) == bool(query.any_of)


def test_causal_verdicts_read_the_three_phase_tables_in_order(con: duckdb.DuckDBPyConnection) -> None:
    _verdicts(con, "patching_verdicts", [("m2", "Does patching recover?", "yes"), ("m1", "Prefers empathic?", "no")])
    _verdicts(con, "mediation_verdicts", [("m1", "Is the effect mediated?", "partly")], evidence="NIE > 0")
    (query,) = [q for q in views.SUMMARY if q.any_of == views.VERDICTS]
    sql = query.render({"patching_verdicts", "mediation_verdicts"})
    assert sql is not None
    assert con.sql(sql).fetchall() == [("m1", "Is the effect mediated?", "partly"), ("m1", "Prefers empathic?", "no"),
                                       ("m2", "Does patching recover?", "yes")]


def test_ablation_summary_shows_only_the_chosen_layer(con: duckdb.DuckDBPyConnection) -> None:
    paired = pd.DataFrame({"model": ["m"] * 3, "method": ["mean_diff", "mean_diff", "logistic"], "layer": [3, 5, 4],
                           "auroc_original": [0.9] * 3, "extra_drop": [0.01, 0.2, 0.0], "extra_ci_low": [0.0] * 3,
                           "extra_ci_high": [0.015, 0.3, 0.01], "margin": [0.02] * 3,
                           "survives": ["yes", "no", "yes"], "chosen": [True, False, True]})
    con.register("ablation_paired", paired)
    (query,) = [q for q in views.SUMMARY if q.needs == ("ablation_paired",)]
    rows = con.sql(query.sql).fetchall()
    assert [(r[1], r[2], r[-1]) for r in rows] == [("logistic", 4, "yes"), ("mean_diff", 3, "yes")]


def test_probes_profiles_puts_each_row_beside_its_run_profile(con: duckdb.DuckDBPyConnection) -> None:
    selected = pd.DataFrame({"run_id": ["r1", "r2", "r1"], "model": ["m", "m", "m"],
                             "method": ["mean_diff", "mean_diff", "logistic"], "layer": [3, 5, 4]})
    runs = pd.DataFrame({"run_id": ["r1", "r2", "r3"], "profile": ["smoke", "v0", "smoke"]})
    con.register("probes_selected", selected)
    con.register("runs", runs)
    frame = con.sql(views.DERIVED["probes_profiles"].sql).df()
    assert list(frame.columns) == ["profile", "method", "layer", "model", "run_id"]
    assert frame.values.tolist() == [["smoke", "logistic", 4, "m", "r1"], ["smoke", "mean_diff", 3, "m", "r1"],
                                     ["v0", "mean_diff", 5, "m", "r2"]]


def test_layer_map_puts_auroc_mediation_and_steering_on_each_models_layers(con: duckdb.DuckDBPyConnection) -> None:
    runs = pd.DataFrame({"run_id": ["p", "v"], "profile": ["smoke", "v0"]})
    auroc = pd.DataFrame({"run_id": ["p"] * 4 + ["v"], "model": ["a", "a", "b", "b", "a"],
                          "layer": [0, 1, 0, 1, 0], "split": "test", "method": "mean_diff",
                          "auroc": [0.6, 0.9, 0.7, 0.8, 0.1], "ci_low": 0.0, "ci_high": 1.0})
    med = pd.DataFrame({"model": ["a", "b"], "layer": [1, 0], "te": [0.5, 0.2], "te_ci_low": 0.0, "te_ci_high": 1.0,
                        "nie": [0.1, 0.05], "nie_ci_low": 0.0, "nie_ci_high": 0.2, "nie_p_holm": 0.5})
    steer = pd.DataFrame({"model": "a", "layer": 1, "scorer": ["classifier", "classifier", "classifier", "vader"],
                          "family": ["ALL:task_conflict", "ALL:task_conflict", "ALL:task_free", "ALL:task_conflict"],
                          "alpha": [10.0, 20.0, 20.0, 20.0], "effect": [0.1, 0.3, 0.9, 0.9], "ci_low": 0.0,
                          "ci_high": 0.5, "success": False})
    for name, frame in (("runs", runs), ("probes_auroc", auroc), ("mediation_effects", med),
                        ("steering_summary", steer)):
        con.register(name, frame)
    out = con.sql(views.DERIVED["collect_layer_map"].sql).df()
    assert out[["model", "layer"]].values.tolist() == [["a", 0], ["a", 1], ["b", 0], ["b", 1]]  # no v0 row
    assert out.test_auroc.tolist() == [0.6, 0.9, 0.7, 0.8]
    assert out.te.isna().tolist() == [True, False, False, True] and out.te[1] == 0.5
    assert out.steering_effect.isna().tolist() == [True, False, True, True]
    assert out.steering_effect[1] == 0.3 and out.steering_alpha[1] == 20.0  # max alpha, task conflict, classifier


def test_listing_sql_round_trips_through_parquet(con: duckdb.DuckDBPyConnection, tmp_path) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "it's.parquet"  # a quote in a path is escaped
    pd.DataFrame({"x": [1, 2], "y": ["p", "q"]}).to_parquet(a)
    pd.DataFrame({"x": [3]}).to_parquet(b)
    con.execute(views.over_parquet('odd"name', [str(a), str(b)]))
    source = views.filtered('odd"name', "x >= 2")
    assert con.execute(views.count_rows(source)).fetchone() == (2,)
    assert con.execute(views.page(views.filtered('odd"name'), 2, 1)).fetchall() == [(2, "q"), (3, None)]
    con.execute(views.export_csv(source, str(tmp_path / "out.csv")))
    assert (tmp_path / "out.csv").read_text().splitlines() == ["x,y", "2,q", "3,"]
    assert con.execute(views.TABLE_NAMES).fetchall() == [('odd"name',)]


def test_views_import_only_the_standard_library() -> None:
    code = ("import sys, json; before = set(sys.modules); import core.views; "
            "print(json.dumps(sorted(m for m in set(sys.modules) - before if '.' not in m)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert set(json.loads(out.stdout)) <= {"core"} | set(sys.stdlib_module_names)


def _summary(title_start: str) -> views.Query:
    (query,) = [q for q in views.SUMMARY if q.title.startswith(title_start)]
    return query


def test_surface_section_lists_test_rows_best_first_and_stars_the_chosen(con: duckdb.DuckDBPyConnection) -> None:
    surface = pd.DataFrame({"run_id": "r1", "model": "m", "baseline": ["bow", "bow", "pron", "pron"],
                            "split": ["validation", "test"] * 2, "auroc": [0.99, 0.90, 0.95, 0.97],
                            "ci_low": 0.8, "ci_high": 1.0, "n_instances": 10, "chosen": [True, True, False, False]})
    con.register("probes_surface", surface)
    con.register("runs", pd.DataFrame({"run_id": ["r1"], "profile": ["smoke"]}))
    rows = con.sql(_summary("Surface battery").render({"probes_surface", "runs"})).fetchall()
    # the test split only, ordered by test AUROC: the baseline chosen on validation need not be best on test
    assert [(r[2], r[3]) for r in rows] == [("pron", 0.97), ("bow *", 0.9)]


def test_margin_section_puts_each_probe_beside_its_erased_aurocs_at_its_layer(con: duckdb.DuckDBPyConnection) -> None:
    selected = pd.DataFrame({"run_id": "r1", "model": "m", "method": ["logistic", "mean_diff"], "layer": [4, 6],
                             "test_auroc": [0.98, 0.95], "best_baseline": "bow", "baseline_test_auroc": 0.99,
                             "margin": [-0.01, -0.04], "margin_ci_low": [-0.02, -0.07], "margin_ci_high": [0.01, -0.01],
                             "margin_verdict": ["undetermined", "baseline"]})
    erased = pd.DataFrame({"run_id": "r1", "model": "m", "method": ["logistic"] * 4 + ["mean_diff"] * 2,
                           "layer": [4, 4, 5, 5, 6, 6], "erased": ["pronoun_length_lexicon",
                                                                   "pronoun_length_lexicon_bow"] * 3,
                           "auroc": [0.91, 0.77, 0.5, 0.5, 0.92, 0.84]})
    con.register("probes_selected", selected)
    con.register("probes_erased", erased)
    con.register("runs", pd.DataFrame({"run_id": ["r1"], "profile": ["smoke"]}))
    frame = con.sql(_summary("Probe minus best").render({"probes_selected", "probes_erased", "runs"})).df()
    assert frame[["method", "better", "leace_3", "leace_3_bow"]].values.tolist() == [
        ["logistic", "undetermined", 0.91, 0.77], ["mean_diff", "baseline", 0.92, 0.84]]
