"""A plain-text summary of the collected results (what `make run` prints without a terminal).

One section per question the artifact answers (core.views.SUMMARY), each read from results.duckdb
(read-only) and printed only when its tables are there: the probe at its validation-chosen layer, the
nulls at that layer, the causal verdicts, the pooled steering effects, and per-layer test AUROC last.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from core import paths, views
from core.errors import InputError


def print_summary(echo: Callable[[str], None] = print) -> None:
    """Print each section of core.views.SUMMARY whose tables are in results.duckdb (opened read-only)."""
    db = paths.database()
    if not db.exists():
        raise InputError(db, "no results yet: run the pipeline first (make run)")
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {r[0] for r in con.execute(views.TABLE_NAMES).fetchall()}
        echo(f"{db}: {len(tables)} tables: {', '.join(sorted(tables))}")
        for query in views.SUMMARY:
            sql = query.render(tables)
            if sql is not None:
                frame = con.sql(sql).fetchdf()
                if len(frame):
                    echo(f"\n{query.title}\n{frame.to_string(index=False, max_colwidth=110)}")
