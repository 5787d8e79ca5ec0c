"""Human review of pairs: a stratified sample into a sheet, the filled-in sheet back as a table.

A sheet is a CSV with one row per pair: the pair's two texts with the labels they carry, and three
columns a person fills in — `label_ok_a` / `label_ok_b` (is this text what its label says: yes/no),
`realism` (1-5: could a thoughtful agent have written it) and a free `note`. Importing checks every
row (bad input is an InputError naming file:line and column) before anything is stored. Agreement
with the labels is the share of texts the reviewer confirmed, overall and per label.

The CLI (`python -m analyses review`) and the TUI's review screen share this module: the same sampler,
the same sheet, and one import path (`import_sheet`), so a rating typed in either lands in the same
table after the same checks. Nothing here loads a model, so the TUI may import it (P3).
"""

from __future__ import annotations

import csv
import hashlib
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core import paths
from core.errors import InputError
from core.store import read_table, write_tables

PAIR_COLUMNS = ["pair_id", "source", "family", "pair_kind", "label_a", "text_a", "label_b", "text_b"]
RATING_COLUMNS = ["label_ok_a", "label_ok_b", "realism", "note"]
_YES, _NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


def text_label(empathic: bool, task: str) -> str:
    """A text's label in words, as the reviewer sees it."""
    outcome = {"completed": "task completed", "abandoned": "task abandoned", "none": "no task"}[task]
    return f"{'empathic' if empathic else 'not empathic'}, {outcome}"


def stratified_sample(pairs: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """`n` pairs spread over the (family, pair_kind) strata: one per stratum in turn, seeded order."""
    rng = random.Random(seed)
    strata = [list(g.index) for _, g in pairs.groupby(["family", "pair_kind"], sort=True)]
    rng.shuffle(strata)
    for members in strata:
        rng.shuffle(members)
    picked: list[int] = []
    while len(picked) < n and any(strata):
        for members in strata:
            if members and len(picked) < n:
                picked.append(members.pop())
    return pairs.loc[picked].reset_index(drop=True)


def write_sheet(sample: pd.DataFrame, path: Path) -> None:
    """The sheet to fill in: the pair columns, then empty rating columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet = sample[PAIR_COLUMNS].copy()
    for col in RATING_COLUMNS:
        sheet[col] = ""
    tmp = path.with_name(f".{path.name}.tmp")
    sheet.to_csv(tmp, index=False, quoting=csv.QUOTE_NONNUMERIC)
    tmp.replace(path)


def _yes_no(path: Path, line: int, col: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _YES or v in _NO:
        return v in _YES
    raise InputError(path, f"expected yes or no, got '{value}'", line=line, field=col)


def _realism(path: Path, line: int, value: str) -> int:
    try:
        score = int(value.strip())
    except ValueError:
        score = 0
    if not 1 <= score <= 5:
        raise InputError(path, f"expected an integer from 1 to 5, got '{value}'", line=line, field="realism")
    return score


def _rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line, row) for every record; the line is where the record starts (texts may span lines)."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        try:
            missing = [c for c in PAIR_COLUMNS[:1] + RATING_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(path, f"missing column(s) {missing}", line=1, field=missing[0])
            out, start = [], 2
            for row in reader:
                out.append((start, row))
                start = reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise InputError(path, "not valid UTF-8", line=reader.line_num + 1) from exc
        except csv.Error as exc:
            raise InputError(path, f"malformed CSV: {exc}", line=reader.line_num) from exc
    if not out:
        raise InputError(path, "sheet holds no rows")
    return out


def read_sheet(path: Path, known: dict[str, dict[str, str]]) -> pd.DataFrame:
    """A filled-in sheet as `validate_review` rows; `known` maps pair_id -> its pair columns."""
    seen: dict[str, int] = {}
    rows = []
    for line, row in _rows(path):
        pid = (row.get("pair_id") or "").strip()
        if pid not in known:
            raise InputError(path, f"unknown pair '{pid}'", line=line, field="pair_id")
        if pid in seen:
            raise InputError(path, f"duplicate pair '{pid}' (first on line {seen[pid]})", line=line, field="pair_id")
        seen[pid] = line
        rows.append({**{c: known[pid][c] for c in PAIR_COLUMNS if c not in ("text_a", "text_b")},
                     "label_ok_a": _yes_no(path, line, "label_ok_a", row.get("label_ok_a") or ""),
                     "label_ok_b": _yes_no(path, line, "label_ok_b", row.get("label_ok_b") or ""),
                     "realism": _realism(path, line, row.get("realism") or ""),
                     "note": (row.get("note") or "").strip()})
    df = pd.DataFrame(rows)
    df.insert(0, "review_id", hashlib.sha256(path.read_bytes()).hexdigest()[:12])
    df["sheet"], df["imported_at"] = path.name, datetime.now(UTC).isoformat(timespec="seconds")
    return df


def accepted(reviews: pd.DataFrame, min_realism: int) -> set[str]:
    """Pairs whose latest rating confirms both labels with realism >= min_realism."""
    latest = reviews.sort_values("imported_at").groupby("pair_id").tail(1)
    ok = latest.label_ok_a & latest.label_ok_b & (latest.realism >= min_realism)
    return set(latest.pair_id[ok])


def summary(reviews: pd.DataFrame, min_realism: int) -> pd.DataFrame:
    """Agreement of the reviewer with the labels: overall, per label, per source; realism."""
    texts = pd.concat([reviews.rename(columns={"label_a": "label", "label_ok_a": "ok"}),
                       reviews.rename(columns={"label_b": "label", "label_ok_b": "ok"})])[["source", "label", "ok"]]
    texts["empathic"] = ~texts.label.str.startswith("not")
    rows = [("all", "label_agreement", texts.ok.mean(), len(texts))]
    for flag, name in ((True, "empathic"), (False, "not_empathic")):
        sub = texts[texts.empathic == flag]
        rows.append((name, "label_agreement", sub.ok.mean() if len(sub) else None, len(sub)))
    for source, sub in texts.groupby("source"):
        rows.append((f"source={source}", "label_agreement", sub.ok.mean(), len(sub)))
    rows += [("all", "realism_mean", reviews.realism.mean(), len(reviews)),
             ("all", "pairs_accepted_share", len(accepted(reviews, min_realism)) / reviews.pair_id.nunique(),
              reviews.pair_id.nunique())]
    return pd.DataFrame(rows, columns=["scope", "check", "value", "n"])


def review_pairs(params: Any, source: str = "data", model: str | None = None) -> pd.DataFrame:
    """Every reviewable pair as the sheet's pair columns (dataset pairs, or generated ones), plus the
    `situation` both texts answer where the dataset has it (shown by the TUI, not written to sheets)."""
    if source == "data":
        from core.data import load_dataset

        ds = load_dataset(params.data.dataset, params.data.scenarios)
        rows = [{"pair_id": p.pair_id, "source": p.positive.source, "family": p.family, "pair_kind": p.kind,
                 "label_a": text_label(p.positive.empathic, p.positive.task), "text_a": p.positive.text,
                 "label_b": text_label(p.negative.empathic, p.negative.task), "text_b": p.negative.text,
                 "situation": p.positive.prompt}
                for p in ds.pairs]
        return pd.DataFrame(rows)
    from core.data.generated import load_generated

    texts, pairs = load_generated([model] if model else None)
    if pairs.empty:
        return pd.DataFrame(columns=["pair_id"])
    by_id = texts.set_index("text_id")
    out = []
    for p in pairs.itertuples():
        a, b = by_id.loc[p.text_id_a], by_id.loc[p.text_id_b]
        out.append({"pair_id": p.pair_id, "source": a.source, "family": p.family, "pair_kind": p.pair_kind,
                    "label_a": text_label(bool(a.empathic), a.task), "text_a": a.text,
                    "label_b": text_label(bool(b.empathic), b.task), "text_b": b.text})
    return pd.DataFrame(out)


def sheet_name(source: str, n: int, seed: int) -> str:
    """The file name of a sampled sheet (the CLI and the TUI resume the same file)."""
    return f"review-{source}-n{n}-s{seed}.csv"


def save_sheet(sheet: pd.DataFrame, path: Path) -> None:
    """Write a sheet with whatever ratings it holds so far (atomically: a quit never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    sheet[PAIR_COLUMNS + RATING_COLUMNS].to_csv(tmp, index=False, quoting=csv.QUOTE_NONNUMERIC)
    tmp.replace(path)


def load_sheet(path: Path) -> pd.DataFrame:
    """A sheet as text columns, empty ratings as '' (not NaN), for resuming."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def import_sheet(sheet: Path, known: pd.DataFrame, min_realism: int,
                 folder: Path | None = None) -> pd.DataFrame:
    """Validate a filled-in sheet against the `known` pairs, store it as `validate_review` under
    `folder` (default outputs/validate/_review), recompute `validate_review_summary`; returns it."""
    folder = folder or paths.review_dir()
    reviews = read_sheet(sheet, {r["pair_id"]: r for r in known.to_dict("records")})
    write_tables(folder, {"validate_review": reviews}, unit=str(reviews.review_id.iloc[0]))
    table = summary(read_table(folder, "validate_review"), min_realism)
    write_tables(folder, {"validate_review_summary": table}, unit="all")
    return table
