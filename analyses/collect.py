"""collect — gather every phase's Parquet tables into outputs/results.duckdb.

Method. Each table name found under outputs/<phase>/<model>/<table>/ becomes one DuckDB table (rows
of all models and runs together; `run_id` joins to `runs`), beside the derived tables of core.views
(e.g. `probes_profiles`). `run` counts the rows the other phases published (`collect_tables`); the
harness publishes that table and collect's own `runs` row, and only then `after_publish` builds the
database, so the file holds collect's tables too. The file is built under a temporary name and
renamed, so readers never see a half-written database and nobody holds it while phases run.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analyses.harness import PhaseRun, final
from core import paths, views
from core.config import CollectConfig
from core.context import RunContext
from core.store import build_database, load_tables


def run(cfg: CollectConfig, ctx: RunContext) -> PhaseRun:
    """One row per table the phases published (and per derived table), with its row count; a previous
    collect's own tables are not counted (this run replaces them)."""
    with duckdb.connect(":memory:") as con:
        counts = load_tables(con, paths.OUTPUTS, views.DERIVED, kind="VIEW", skip_phases={"collect"})
    rows = [{"table_name": name, "n_rows": n} for name, n in counts.items()]
    yield final({"collect_tables": pd.DataFrame(rows, columns=["table_name", "n_rows"])})


def after_publish(cfg: CollectConfig, ctx: RunContext) -> None:
    """Build results.duckdb from every published table, collect's own included."""
    build_database(paths.OUTPUTS, paths.database(), views.DERIVED)
