"""core.claims: claims.yaml parses strictly, each claim reads exactly one row of results.duckdb, and a value
outside its tolerance (or a missing table) is a miss; `--update` rewrites published values, keeping comments."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core.claims import agrees, evaluate_claims, load_claims
from core.claims_report import update_published
from core.errors import InputError

ROOT = Path(__file__).resolve().parents[2]

CLAIMS = """\
# a comment that --update keeps
claims:
  - id: probe_auroc
    question: Is it decodable?
    source: probes_selected
    where: {method: logistic}
    value: test_auroc
    ci: [ci_low, ci_high]
    published: 0.9
    published_ci: [0.8, 0.95]
    tolerance: 0.01
    verdict: The probe reaches {value} {ci}.
  - id: verdict_text
    question: Which is better?
    source: probes_selected
    where: {method: mean_diff}
    value: margin_verdict
    published: baseline
    verdict: Better is {value}.
  - id: undetermined
    question: How many verdicts are undetermined?
    source: claims_verdict_counts
    where: {model: m}
    value: n_undetermined
    published: 1
    digits: 0
    verdict: "{value} undetermined."
"""


def _db(path: Path, logistic: float = 0.905) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE probes_selected (model TEXT, method TEXT, test_auroc DOUBLE, ci_low DOUBLE, "
                    "ci_high DOUBLE, margin_verdict TEXT)")
        con.execute("INSERT INTO probes_selected VALUES ('m', 'logistic', ?, 0.85, 0.97, 'undetermined'), "
                    "('m', 'mean_diff', 0.7, 0.6, 0.8, 'baseline')", [logistic])
        con.execute("CREATE TABLE patching_verdicts (model TEXT, question TEXT, answer TEXT)")
        con.execute("INSERT INTO patching_verdicts VALUES ('m', 'q1', 'undetermined: CI holds 0'), ('m', 'q2', 'yes')")
    return path


def _claims(tmp_path: Path, text: str = CLAIMS) -> Path:
    target = tmp_path / "claims.yaml"
    target.write_text(text)
    return target


def test_claims_within_tolerance_pass_and_fill_their_sentences(tmp_path):
    results = evaluate_claims(_db(tmp_path / "r.duckdb"), _claims(tmp_path))
    assert [r.ok for r in results] == [True, True, True]
    first = results[0]
    assert (first.reproduced, first.ci_low, first.ci_high, first.table) == (0.905, 0.85, 0.97, "probes_selected")
    assert first.verdict == "The probe reaches 0.905 [0.850, 0.970]."
    assert results[2].reproduced == 1.0 and results[2].verdict == "1 undetermined."


def test_a_value_outside_tolerance_or_a_missing_table_is_a_miss(tmp_path):
    results = evaluate_claims(_db(tmp_path / "r.duckdb", logistic=0.95), _claims(tmp_path))
    assert not results[0].ok and results[0].reproduced == 0.95
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        con.execute("CREATE TABLE runs (run_id TEXT)")
    missing = evaluate_claims(tmp_path / "empty.duckdb", _claims(tmp_path))
    assert not any(r.ok for r in missing) and all(r.reproduced is None and r.error for r in missing)


def test_a_filter_matching_several_rows_is_a_miss_not_a_guess(tmp_path):
    text = CLAIMS.replace("where: {method: logistic}", "where: {model: m}")
    (result, *_) = evaluate_claims(_db(tmp_path / "r.duckdb"), _claims(tmp_path, text))
    assert not result.ok and "2 rows" in (result.error or "")


def test_agrees_compares_numbers_within_tolerance_and_texts_exactly():
    assert agrees(0.5, 0.504, 0.005) and not agrees(0.5, 0.506, 0.005)
    assert not agrees(0.5, float("nan"), 1.0) and not agrees(0.5, None, 1.0)
    assert agrees("probe", "probe", 0.0) and not agrees("probe", "baseline", 1.0)


@pytest.mark.parametrize(("old", "new", "field"), [
    ("    value: test_auroc\n", "", "value"),
    ("    tolerance: 0.01\n", "    tolerance: -1\n", "tolerance"),
    ("    ci: [ci_low, ci_high]\n", "    ci: [ci_low]\n", "ci"),
    ("    published: baseline\n", "    published: [1, 2]\n", "published"),
    ("  - id: undetermined\n", "  - id: probe_auroc\n", "id"),
    ("    digits: 0\n", "    digits: 0\n    colour: red\n", "colour"),
])
def test_bad_claims_name_file_line_and_field(tmp_path, old, new, field):
    path = _claims(tmp_path, CLAIMS.replace(old, new))
    with pytest.raises(InputError) as err:
        load_claims(path)
    assert str(path) in str(err.value) and f"field '{field}'" in str(err.value) and err.value.line is not None


def test_update_rewrites_published_values_and_keeps_comments(tmp_path):
    path = _claims(tmp_path)
    db = _db(tmp_path / "r.duckdb", logistic=0.93333)
    changed = update_published(path, evaluate_claims(db, path))
    assert changed == ["probe_auroc"]
    assert path.read_text().startswith("# a comment that --update keeps")
    (first, *_) = load_claims(path)
    assert first.published == 0.933 and first.published_ci == (0.85, 0.97)
    assert all(r.ok for r in evaluate_claims(db, path))


def test_the_repository_claims_file_parses_and_names_known_sources():
    from analyses import PHASES
    from core import views

    claims = load_claims(ROOT / "claims.yaml")
    assert len(claims) >= 10
    for c in claims:  # a query of core.views.CLAIMS, or a published table (named <phase>_...)
        assert c.source in views.CLAIMS or c.source.split("_")[0] in PHASES, c.id


def test_a_pending_claim_misses_until_update_fills_it_in(tmp_path):
    path = _claims(tmp_path, CLAIMS.replace("    published: 1\n", "    published: pending\n"))
    db = _db(tmp_path / "r.duckdb")
    assert [r.ok for r in evaluate_claims(db, path)] == [True, True, False]
    assert "undetermined" in update_published(path, evaluate_claims(db, path))
    assert load_claims(path)[2].published == 1.0 and all(r.ok for r in evaluate_claims(db, path))
