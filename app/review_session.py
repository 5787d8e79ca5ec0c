"""The human review as the TUI does it (no Textual): the CLI's sampler, sheet and import path.

A session is a review sheet on disk (outputs/validate/_review/sheets/review-data-n20-s<seed>.csv, the
file `python -m analyses review sample` writes). Every rating is saved to it at once, so quitting loses
nothing and the next session resumes at the first unrated pair; importing goes through
core.review.import_sheet, the CLI's own path (same validation, same `validate_review` table).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core import paths
from core.review import (
    PAIR_COLUMNS,
    RATING_COLUMNS,
    import_sheet,
    load_sheet,
    review_pairs,
    save_sheet,
    sheet_name,
    stratified_sample,
)

YES, NO = "yes", "no"


@dataclass(frozen=True)
class ReviewSource:
    """What a review draws from: the reviewable pairs, the sampler's seed and size, the acceptance bar."""

    pairs: pd.DataFrame
    seed: int
    min_realism: int
    n: int = 20
    source: str = "data"


ReviewSourceFor = Callable[[Path, str], ReviewSource]


def params_review_source(root: Path, profile: str) -> ReviewSource:
    """The seed's dataset pairs and params.yaml's seed and promote_min_realism (the CLI's defaults)."""
    from core.config import load_params

    params = load_params(root / "params.yaml", profile)
    return ReviewSource(review_pairs(params, "data"), params.seed, params.dataset.promote_min_realism)


class ReviewSession:
    """One sheet being filled in, row by row."""

    def __init__(self, sheet: pd.DataFrame, path: Path, source: ReviewSource) -> None:
        self.sheet = sheet.reset_index(drop=True)
        self.path = path
        self.source = source
        situations = source.pairs.set_index("pair_id")["situation"] if "situation" in source.pairs else None
        self.situations: dict[str, str] = {} if situations is None else situations.astype(str).to_dict()

    @classmethod
    def open(cls, source: ReviewSource, outputs: Path) -> ReviewSession:
        """Resume the sheet for this seed and size if it exists, else sample and save a fresh one."""
        path = paths.review_sheet(sheet_name(source.source, source.n, source.seed), outputs)
        if path.exists():
            sheet = load_sheet(path)
        else:
            sheet = stratified_sample(source.pairs, source.n, source.seed)[PAIR_COLUMNS].astype(str)
            for col in RATING_COLUMNS:
                sheet[col] = ""
            save_sheet(sheet, path)
        return cls(sheet, path, source)

    def __len__(self) -> int:
        return len(self.sheet)

    def row(self, index: int) -> dict[str, str]:
        """The pair columns and ratings of one row, with its situation."""
        row = {k: str(v) for k, v in self.sheet.iloc[index].items()}
        return {**row, "situation": self.situations.get(row["pair_id"], "")}

    def rate(self, index: int, column: str, value: str) -> None:
        """Set one rating and save the sheet (atomically) so a quit never loses it."""
        if column not in RATING_COLUMNS:
            raise KeyError(column)
        self.sheet.loc[index, column] = value
        save_sheet(self.sheet, self.path)

    def complete(self, index: int) -> bool:
        """Both labels judged and a realism score given (the note is optional)."""
        row = self.sheet.iloc[index]
        return all(str(row[c]).strip() for c in RATING_COLUMNS if c != "note")

    def done(self) -> int:
        """How many rows are complete."""
        return sum(self.complete(i) for i in range(len(self)))

    def first_open(self) -> int:
        """The first incomplete row (the last row when all are complete)."""
        return next((i for i in range(len(self)) if not self.complete(i)), len(self) - 1)

    def import_(self, outputs: Path) -> pd.DataFrame:
        """The CLI's import path: validate the sheet, store `validate_review`, return the agreement table."""
        return import_sheet(self.path, self.source.pairs, self.source.min_realism, paths.review_dir(outputs))
