"""Human review: stratified sampling, the sheet round trip, agreement, and bad sheets (exit 2, file:line)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from analyses.__main__ import main
from core.errors import InputError
from core.review import (
    PAIR_COLUMNS,
    accepted,
    read_sheet,
    stratified_sample,
    summary,
    text_label,
    write_sheet,
)


def _pairs(n_fam: int = 3, kinds=("empathy_task_completed", "task_empathic"), per: int = 4) -> pd.DataFrame:
    rows = [{"pair_id": f"f{f}_{k}_{i}", "source": "authored", "family": f"f{f}", "pair_kind": k,
             "label_a": text_label(True, "completed"), "text_a": f"A {i}", "label_b": text_label(False, "completed"),
             "text_b": f"B {i}"} for f in range(n_fam) for k in kinds for i in range(per)]
    return pd.DataFrame(rows)


def test_stratified_sample_covers_every_stratum_and_is_seeded():
    pairs = _pairs()
    s = stratified_sample(pairs, 8, seed=3)
    assert len(s) == 8 and s.pair_id.is_unique
    assert s.groupby(["family", "pair_kind"]).size().min() >= 1  # 6 strata, 8 picks: all covered
    assert s.groupby(["family", "pair_kind"]).size().max() <= 2
    assert s.pair_id.tolist() == stratified_sample(pairs, 8, seed=3).pair_id.tolist()
    assert s.pair_id.tolist() != stratified_sample(pairs, 8, seed=4).pair_id.tolist()
    assert len(stratified_sample(pairs, 100, seed=0)) == len(pairs)


def _fill(path: Path, ratings: list[tuple[str, str, str, str]]) -> None:
    df = pd.read_csv(path, keep_default_na=False)
    for col, values in zip(["label_ok_a", "label_ok_b", "realism", "note"], zip(*ratings, strict=True), strict=True):
        df[col] = list(values)
    df.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)


def test_sheet_round_trip_and_agreement(tmp_path):
    pairs = _pairs(per=1)
    sheet = tmp_path / "sheet.csv"
    write_sheet(pairs.head(4), sheet)
    assert list(pd.read_csv(sheet).columns) == PAIR_COLUMNS + ["label_ok_a", "label_ok_b", "realism", "note"]
    _fill(sheet, [("yes", "yes", "4", "fine"), ("Y", "no", "2", "b reads as empathic"),
                  ("no", "yes", "5", ""), ("1", "0", "3", "multi\nline note")])
    known = {r["pair_id"]: r for r in pairs.to_dict("records")}
    rows = read_sheet(sheet, known)
    assert rows.label_ok_a.tolist() == [True, True, False, True]
    assert rows.realism.tolist() == [4, 2, 5, 3] and rows.note.iloc[3] == "multi\nline note"
    table = summary(rows, min_realism=3).set_index(["scope", "check"]).value
    assert table["all", "label_agreement"] == pytest.approx(5 / 8)
    assert table["empathic", "label_agreement"] == pytest.approx(3 / 4)
    assert table["not_empathic", "label_agreement"] == pytest.approx(2 / 4)
    assert table["all", "realism_mean"] == pytest.approx(3.5)
    assert accepted(rows, 3) == {rows.pair_id.iloc[0]}
    assert table["all", "pairs_accepted_share"] == pytest.approx(0.25)


def _bad(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text("pair_id,label_ok_a,label_ok_b,realism,note\n" + body, encoding="utf-8")
    return path


@pytest.mark.parametrize("body, line, field", [
    ("p0,yes,yes,4,\np1,yes,maybe,4,\n", 3, "label_ok_b"),
    ("p0,yes,yes,7,\n", 2, "realism"),
    ("p0,yes,yes,,\n", 2, "realism"),
    ("p0,yes,yes,4,\"a\nb\"\np9,yes,yes,4,\n", 4, "pair_id"),
    ("p0,yes,yes,4,\np0,no,no,1,\n", 3, "pair_id"),
])
def test_bad_sheets_name_file_line_field(tmp_path, body, line, field):
    known = {f"p{i}": {c: "x" for c in PAIR_COLUMNS} | {"pair_id": f"p{i}"} for i in range(3)}
    with pytest.raises(InputError) as err:
        read_sheet(_bad(tmp_path, body), known)
    assert (err.value.line, err.value.field) == (line, field)


def test_missing_column_and_non_utf8(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("pair_id,label_ok_a,realism,note\np0,yes,3,\n")
    with pytest.raises(InputError, match="label_ok_b"):
        read_sheet(path, {})
    path.write_bytes(b"pair_id,label_ok_a,label_ok_b,realism,note\np0,yes,yes,3,caf\xe9\n")
    with pytest.raises(InputError, match="UTF-8"):
        read_sheet(path, {"p0": {c: "x" for c in PAIR_COLUMNS}})


def test_review_cli_sample_then_import(in_tmp_outputs, capsys):
    assert main(["review", "sample", "--n", "20", "--seed", "5"]) == 0
    review = in_tmp_outputs / "outputs" / "validate" / "_review"
    sheet = review / "sheets" / "review-data-n20-s5.csv"
    df = pd.read_csv(sheet)
    assert len(df) == 20 and df.family.nunique() == 12  # stratified over the 12 families
    _fill(sheet, [("yes", "yes", "4", "")] * 19 + [("yes", "no", "2", "")])
    assert main(["review", "import", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "label_agreement" in out
    stored = pd.read_parquet(review / "validate_review")
    assert len(stored) == 20 and stored.label_ok_a.all()
    summary_table = pd.read_parquet(review / "validate_review_summary")
    agree = summary_table.set_index(["scope", "check"]).value["all", "label_agreement"]
    assert agree == pytest.approx(39 / 40)
    bad = in_tmp_outputs / "bad.csv"
    bad.write_text("pair_id,label_ok_a,label_ok_b,realism,note\nfood_delivery_01:task_empathic,yes,yes,9,\n")
    assert main(["review", "import", str(bad)]) == 2
    assert f"{bad}:2: field 'realism'" in capsys.readouterr().err
