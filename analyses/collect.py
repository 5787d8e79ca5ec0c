"""collect — gather every phase's Parquet tables into outputs/results.duckdb.

Method. Each table name found under outputs/<phase>/<model>/<table>/ becomes one DuckDB table (rows
of all models and runs together; `run_id` joins to `runs`). The file is built under a temporary name
and renamed, so readers never see a half-written database and nobody holds it while phases run.
"""

from __future__ import annotations

import pandas as pd

from core import paths, views
from core.config import CollectConfig
from core.context import RunContext
from core.store import build_database


def run(cfg: CollectConfig, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """Build the database; return one row per collected table."""
    counts = build_database(paths.OUTPUTS, paths.database(), views.DERIVED)
    rows = [{"table_name": name, "n_rows": n} for name, n in counts.items()]
    return {"collect_tables": pd.DataFrame(rows, columns=["table_name", "n_rows"])}
