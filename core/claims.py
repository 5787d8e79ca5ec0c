"""Claims as checks: each headline number of the README, the query that yields it, and its published value.

claims.yaml (repo root) lists one entry per claim:

    - id: probe_logistic_test_auroc           # unique, [a-z0-9_]
      question: Is empathy decodable on held-out families?
      source: probes_selected                 # a published table, or a query of core.views.CLAIMS
      where: {method: logistic}               # equality filters; the query must then give exactly one row
      value: test_auroc                       # the column compared with `published`
      ci: [ci_low, ci_high]                   # optional: the columns of its 95% CI
      published: 0.988                        # a number (checked within `tolerance`) or a text (exact)
      published_ci: [0.973, 0.998]            # optional, shown in the README beside `published`
      tolerance: 0.005
      digits: 3
      verdict: The logistic probe reaches test AUROC {value} {ci}.   # README sentence

`evaluate_claims` runs every claim on results.duckdb (opened read-only, closed at once: a phase may
want to write it next) and compares. The SQL lives in core.views (CLAIMS, and the generic filtered
select built here from quoted names and values), so no query text sits in claims.yaml. Nothing here
imports beyond yaml and duckdb, so the TUI's Findings screen can call it (P3).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from core import views
from core.errors import InputError

CLAIMS_FILE = Path("claims.yaml")
_REQUIRED = ("id", "question", "source", "value", "published", "verdict")
_OPTIONAL = ("where", "ci", "published_ci", "tolerance", "digits")
_ID = re.compile(r"^[a-z0-9_]+$")

Value = float | str


@dataclass(frozen=True)
class Claim:
    """One entry of claims.yaml, validated."""

    id: str
    question: str
    source: str
    where: dict[str, Value | bool]
    value: str
    ci: tuple[str, str] | None
    published: Value
    published_ci: tuple[float, float] | None
    tolerance: float
    digits: int
    verdict: str
    line: int

    @property
    def table(self) -> str:
        """The published table(s) the number comes from: the source itself, or the main table of its
        core.views.CLAIMS query (the first it needs, or each it may stack)."""
        query = views.CLAIMS.get(self.source)
        if query is None:
            return self.source
        return ", ".join(query.needs[:1] or query.any_of)


@dataclass(frozen=True)
class ClaimResult:
    """A claim checked against a results database: the published and the reproduced value, and whether they
    agree (`ok`); `verdict` is the claim's sentence with the reproduced numbers, `error` why none came back."""

    id: str
    question: str
    table: str
    published: Value
    reproduced: Value | None
    ci_low: float | None
    ci_high: float | None
    ok: bool
    verdict: str
    tolerance: float
    error: str | None = None
    digits: int = 3


def load_claims(path: Path = CLAIMS_FILE) -> list[Claim]:
    """Parse and validate claims.yaml; a bad entry raises InputError naming the file, line and field."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        nodes = yaml.compose(text)
        raw = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(path, f"cannot read claims: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list) or nodes is None:
        raise InputError(path, "expected a mapping with a list under 'claims'", field="claims")
    items = next(v for k, v in nodes.value if k.value == "claims").value
    claims = [_claim(path, entry, node.start_mark.line + 1) for entry, node in zip(raw["claims"], items, strict=True)]
    seen: set[str] = set()
    for c in claims:
        if c.id in seen:
            raise InputError(path, f"duplicate claim id {c.id!r}", line=c.line, field="id")
        seen.add(c.id)
    return claims


def _claim(path: Path, entry: Any, line: int) -> Claim:
    if not isinstance(entry, dict):
        raise InputError(path, "a claim must be a mapping", line=line)
    for key in _REQUIRED:
        if entry.get(key) in (None, ""):
            raise InputError(path, "missing", line=line, field=key)
    unknown = set(entry) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise InputError(path, f"unknown key(s) {sorted(unknown)}", line=line, field=sorted(unknown)[0])
    if not _ID.match(str(entry["id"])):
        raise InputError(path, "ids are lower-case letters, digits and '_'", line=line, field="id")
    published = entry["published"]
    if isinstance(published, bool) or not isinstance(published, int | float | str):
        raise InputError(path, "a number or a text", line=line, field="published")
    where = entry.get("where") or {}
    if not isinstance(where, dict) or not all(isinstance(v, int | float | str) for v in where.values()):
        raise InputError(path, "a mapping of column: value", line=line, field="where")
    return Claim(id=str(entry["id"]), question=str(entry["question"]), source=str(entry["source"]),
                 where=dict(where), value=str(entry["value"]), ci=_pair(path, entry, "ci", line, str),
                 published=published if isinstance(published, str) else float(published),
                 published_ci=_pair(path, entry, "published_ci", line, float),
                 tolerance=_number(path, entry, "tolerance", line, 0.0),
                 digits=int(_number(path, entry, "digits", line, 3)),
                 verdict=str(entry["verdict"]), line=line)


def _pair(path: Path, entry: dict, key: str, line: int, kind: type) -> Any:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise InputError(path, "a list of two", line=line, field=key)
    try:
        return (kind(value[0]), kind(value[1]))
    except (TypeError, ValueError) as exc:
        raise InputError(path, f"a list of two {kind.__name__}s", line=line, field=key) from exc


def _number(path: Path, entry: dict, key: str, line: int, default: float) -> float:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InputError(path, "a non-negative number", line=line, field=key)
    return float(value)


def claim_sql(claim: Claim, tables: set[str]) -> str | None:
    """The SELECT of a claim's value (and CI) over the tables present, or None when its source is missing."""
    source = views.CLAIMS[claim.source].render(tables) if claim.source in views.CLAIMS else (
        views.quote_name(claim.source) if claim.source in tables else None)
    if source is None:
        return None
    columns = [claim.value, *(claim.ci or ())]
    return views.claim_select(source if claim.source not in views.CLAIMS else f"({source})", columns, claim.where)


def measure(con: duckdb.DuckDBPyConnection, claim: Claim, tables: set[str]) -> tuple[tuple | None, str | None]:
    """(row of value[, ci_low, ci_high]) of a claim, or (None, why not)."""
    sql = claim_sql(claim, tables)
    if sql is None:
        return None, f"source {claim.source!r} is not in the results"
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        return None, f"query failed: {exc}".splitlines()[0]
    if len(rows) != 1:
        return None, f"{len(rows)} rows match {claim.where or 'the source'} (need exactly 1)"
    return rows[0], None


def agrees(published: Value, reproduced: Value | None, tolerance: float) -> bool:
    """Within tolerance for numbers (NaN never agrees), equal for texts."""
    if reproduced is None:
        return False
    if isinstance(published, str) or isinstance(reproduced, str):
        return str(published) == str(reproduced)
    return not math.isnan(float(reproduced)) and abs(float(reproduced) - float(published)) <= tolerance + 1e-12


def _as_value(x: Any) -> Value | None:
    if x is None:
        return None
    if isinstance(x, bool):
        return str(x).lower()
    return float(x) if isinstance(x, int | float) else str(x)


def fmt(x: Value | None, digits: int) -> str:
    """A number rounded to `digits` (with a true minus sign), a text as is, '—' for nothing."""
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    if digits == 0:
        return f"{round(float(x))}".replace("-", "−")
    return f"{float(x):.{digits}f}".replace("-", "−")


def sentence(claim: Claim, value: Value | None, ci: tuple[float, float] | None) -> str:
    """The claim's verdict sentence with a value and its CI filled in."""
    ci_text = f"[{fmt(ci[0], claim.digits)}, {fmt(ci[1], claim.digits)}]" if ci else ""
    return claim.verdict.format(value=fmt(value, claim.digits), ci=ci_text).replace(" .", ".").strip()


def check(con: duckdb.DuckDBPyConnection, claim: Claim, tables: set[str]) -> ClaimResult:
    """One claim against an open connection."""
    row, error = measure(con, claim, tables)
    value = _as_value(row[0]) if row else None
    lo, hi = (float(row[1]), float(row[2])) if row and claim.ci and None not in (row[1], row[2]) else (None, None)
    ci = (lo, hi) if lo is not None and hi is not None else None
    return ClaimResult(id=claim.id, question=claim.question, table=claim.table, published=claim.published,
                       reproduced=value, ci_low=lo, ci_high=hi, ok=agrees(claim.published, value, claim.tolerance),
                       verdict=sentence(claim, value, ci) if row else error or "", tolerance=claim.tolerance,
                       error=error, digits=claim.digits)


def evaluate_claims(db_path: Path, claims_path: Path = CLAIMS_FILE) -> list[ClaimResult]:
    """Every claim of claims_path checked against the results database at db_path (read-only)."""
    claims = load_claims(claims_path)
    if not Path(db_path).exists():
        raise InputError(db_path, "no results database: run the pipeline (make run) or `dvc pull` first")
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = {r[0] for r in con.execute(views.TABLE_NAMES).fetchall()}
        return [check(con, c, tables) for c in claims]
