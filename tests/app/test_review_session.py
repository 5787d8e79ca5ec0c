"""The TUI's review session: the CLI's sampler and sheet, ratings saved at once, the CLI's import path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from app.review_session import NO, YES, ReviewSession
from core.errors import InputError
from core.review import PAIR_COLUMNS, load_sheet, stratified_sample
from tests.app.conftest import fixture_review_source


def _rate_all(session: ReviewSession, last_b: str = YES) -> None:
    for i in range(len(session)):
        session.rate(i, "label_ok_a", YES)
        session.rate(i, "label_ok_b", last_b if i == len(session) - 1 else YES)
        session.rate(i, "realism", "4")


def test_a_new_session_is_the_cli_sample_saved_as_its_sheet(tmp_path: Path) -> None:
    source = fixture_review_source(tmp_path, "smoke")
    session = ReviewSession.open(source, tmp_path)
    expected = stratified_sample(source.pairs, 20, 7)
    assert list(session.sheet.pair_id) == list(expected.pair_id)
    assert session.path == tmp_path / "validate/_review/sheets/review-data-n20-s7.csv"
    on_disk = load_sheet(session.path)
    assert list(on_disk.columns) == PAIR_COLUMNS + ["label_ok_a", "label_ok_b", "realism", "note"]
    assert (on_disk.realism == "").all() and session.done() == 0 and session.first_open() == 0
    assert session.row(0)["situation"].startswith("Situation of fam")


def test_ratings_survive_a_quit_and_the_session_resumes(tmp_path: Path) -> None:
    source = fixture_review_source(tmp_path, "smoke")
    first = ReviewSession.open(source, tmp_path)
    for i in range(7):
        first.rate(i, "label_ok_a", YES)
        first.rate(i, "label_ok_b", NO)
        first.rate(i, "realism", "3")
    first.rate(7, "note", "half done")
    again = ReviewSession.open(source, tmp_path)  # a new process would do exactly this
    assert again.done() == 7 and again.first_open() == 7
    assert again.row(7)["note"] == "half done" and again.row(3)["label_ok_b"] == NO
    with pytest.raises(KeyError):
        again.rate(0, "pair_id", "x")


def test_import_goes_through_the_cli_path_and_reports_agreement(tmp_path: Path) -> None:
    source = fixture_review_source(tmp_path, "smoke")
    session = ReviewSession.open(source, tmp_path)
    _rate_all(session, last_b=NO)
    table = session.import_(tmp_path)
    agree = table.set_index(["scope", "check"]).value["all", "label_agreement"]
    assert agree == pytest.approx(39 / 40)
    stored = pd.read_parquet(tmp_path / "validate/_review/validate_review")
    assert len(stored) == 20 and set(stored.pair_id) == set(session.sheet.pair_id)


def test_a_bad_rating_is_refused_by_the_same_validation(tmp_path: Path) -> None:
    source = fixture_review_source(tmp_path, "smoke")
    session = ReviewSession.open(source, tmp_path)
    _rate_all(session)
    session.rate(4, "realism", "9")
    with pytest.raises(InputError, match="realism"):
        session.import_(tmp_path)
    assert not (tmp_path / "validate/_review/validate_review").exists()
