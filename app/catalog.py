"""Read-only catalog of the results store: one DuckDB view per table over its Parquet parts.

The TUI never opens outputs/results.duckdb: a DuckDB file allows one writer, and any open connection
(even a reader) would block `collect` while the TUI is up (DESIGN §5). Instead an in-memory
connection holds views over outputs/<phase>/<model>/<table>/part-*.parquet, the same files that
`collect` reads, plus collect's derived tables (core.views.DERIVED, e.g. probes_profiles) as views
over those, so the TUI always shows what is on disk now. The SQL comes from core.views, shared with
collect and the summary. No Textual import here (P3, harlequin).
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from core import views
from core.paths import published_parts

PAGE_SIZE = 100
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class FilterError(ValueError):
    """A WHERE filter that was rejected or failed to run."""


def find_parts(outputs: Path) -> dict[str, dict[str, list[Path]]]:
    """Parquet parts by table, then by phase; skips hidden folders (.staging, .old swaps)."""
    found: dict[str, dict[str, list[Path]]] = defaultdict(lambda: defaultdict(list))
    for phase, _, table, part in published_parts(outputs):
        if _NAME.match(table):
            found[table][phase].append(part.resolve())
    return {t: dict(by_phase) for t, by_phase in found.items()}


class Catalog:
    """An in-memory DuckDB connection with one VIEW per table found under `outputs`."""

    def __init__(self, outputs: Path | str, scan: bool = True) -> None:
        self.outputs = Path(outputs).resolve()
        self.con = duckdb.connect(":memory:")
        # One connection is shared by UI worker threads; DuckDB connections are not thread-safe.
        self._lock = threading.Lock()
        self._phases: dict[str, list[str]] = {}
        # Filters are raw SQL typed by a user: confine every file access to outputs/ for good.
        self.con.execute(f"SET allowed_directories=[{views.quote_text(str(self.outputs) + '/')}]")
        self.con.execute("SET enable_external_access=false")
        self.con.execute("SET lock_configuration=true")
        self.scanned = False
        if scan:  # the App passes scan=False and lets a screen's worker scan (no disk walk on the UI thread)
            self.refresh()

    def refresh(self) -> list[str]:
        """Re-glob the outputs folder and (re)create the views; returns the table names."""
        parts = find_parts(self.outputs)
        phases = {t: sorted(by_phase) for t, by_phase in parts.items()}
        with self._lock:
            for gone in set(self._phases) - set(phases):
                self.con.execute(f"DROP VIEW IF EXISTS {views.quote_name(gone)}")
            for table, by_phase in parts.items():
                self.con.execute(views.over_parquet(table, [str(p) for ps in by_phase.values() for p in ps]))
            # A derived table lives in results.duckdb, which collect builds: list it under collect.
            phases |= {name: ["collect"] for name in self._create_derived(set(parts))}
            self._phases = dict(sorted(phases.items()))
            self.scanned = True
        return self.tables()

    def ensure_scanned(self) -> None:
        """Scan outputs/ once (from a worker) if no one has yet."""
        if not self.scanned:
            self.refresh()

    def _create_derived(self, tables: set[str]) -> list[str]:
        """Create the view of each derived table whose inputs are here; returns their names. (refresh
        has dropped the old ones.)"""
        made = []
        # Claim queries (core.views.CLAIMS) too, so a Findings row can open the rows its number comes from.
        for name, query in {**views.DERIVED, **views.CLAIMS}.items():
            sql = query.render(tables)
            if sql is None or name in tables:
                continue
            try:
                self.con.execute(views.create_as(name, sql))
            except duckdb.Error:  # inputs of an older/foreign schema: no view rather than a crash
                continue
            made.append(name)
        return made

    def tables(self) -> list[str]:
        """Names of the tables that have at least one Parquet part, and of the derived tables over them."""
        return list(self._phases)

    def phases_of(self, table: str) -> list[str]:
        """The phases that wrote parts of `table` (several for shared tables such as `runs`); for a
        derived table, `collect`."""
        return self._phases.get(table, [])

    def _source(self, table: str, where: str | None) -> str:
        if table not in self._phases:
            raise KeyError(f"unknown table {table!r}")
        # The filter is pasted into a subquery, so it can only narrow this one SELECT; statement
        # separators and comments (which could swallow the closing parenthesis) are refused.
        if where and (";" in where or "--" in where or "/*" in where):
            raise FilterError("filter may not contain ';' or SQL comments")
        return views.filtered(table, where)

    def _run(self, sql: str) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql)
        except duckdb.Error as exc:
            raise FilterError(str(exc).splitlines()[0]) from exc

    def count(self, table: str, where: str | None = None) -> int:
        """Number of rows of `table` matching the filter."""
        with self._lock:
            row = self._run(views.count_rows(self._source(table, where))).fetchone()
        return int(row[0]) if row else 0

    def page(
        self, table: str, where: str | None = None, limit: int = PAGE_SIZE, offset: int = 0
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """One page of `table` (filtered): (column names, rows)."""
        sql = views.page(self._source(table, where), limit, offset)
        with self._lock:
            cur = self._run(sql)
            rows = cur.fetchall()
            names = [d[0] for d in cur.description or []]
        return names, rows

    def export_csv(self, table: str, where: str | None, path: Path | str) -> Path:
        """Write every row of the (filtered) table to a CSV file under outputs/; returns its path."""
        path = Path(path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._run(views.export_csv(self._source(table, where), str(path)))
        return path

    def auroc_by_layer(self, split: str = "test") -> dict[str, tuple[list[int], list[float]]]:
        """AUROC by layer per model/method from `probes_auroc`, for the plot pane."""
        if "probes_auroc" not in self._phases:
            return {}
        series: dict[str, tuple[list[int], list[float]]] = {}
        with self._lock:
            try:
                rows = self.con.execute(views.AUROC_BY_LAYER, [split]).fetchall()
            except duckdb.Error:  # an older/foreign schema: no plot rather than a crash
                return {}
            for name, layer, auroc in rows:
                xs, ys = series.setdefault(name, ([], []))
                xs.append(int(layer))
                ys.append(float(auroc))
        return series

    def read(self, query: views.Query, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of one of core.views' queries; [] when a table it needs is missing or of another schema
        (a screen shows "nothing yet" rather than crash on an older results store)."""
        return self.read_named(query, params)[1]

    def read_named(self, query: views.Query, params: list[Any] | None = None
                   ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """(column names, rows) of one of core.views' queries; ([], []) as for `read`."""
        with self._lock:
            sql = query.render(self._phases)
            if sql is None:
                return [], []
            try:
                cur = self.con.execute(sql, params or [])
                return [d[0] for d in cur.description or []], cur.fetchall()
            except duckdb.Error:
                return [], []

    def close(self) -> None:
        """Close the in-memory connection."""
        self.con.close()


def format_cell(value: Any, width: int = 40) -> str:
    """Render one value for a terminal cell: short floats, truncated lists and text."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        text = f"[{len(value)}] " + ", ".join(format_cell(v, 8) for v in value[:4])
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
