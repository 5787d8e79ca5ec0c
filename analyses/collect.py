"""collect — gather every phase's Parquet tables into outputs/results.duckdb.

Method. Each table name found under outputs/<phase>/<model>/<table>/ becomes one DuckDB table (rows
of all models and runs together; `run_id` joins to `runs`). The file is built under a temporary name
and renamed, so readers never see a half-written database and nobody holds it while phases run.
"""

from __future__ import annotations

import pandas as pd

from analyses.harness import PhaseRun, final
from core import paths
from core.config import CollectConfig
from core.context import RunContext
from core.store import build_database

# Tables derived from the collected ones: name -> (tables it needs, SQL).
DERIVED: dict[str, tuple[tuple[str, ...], str]] = {
    # v0's method and v1's side by side (P1 of issue 4): the profile comes from each row's run
    "probes_profiles": (("probes_selected", "runs"),
                        "SELECT r.profile, s.* EXCLUDE (run_id, model), s.model, s.run_id "
                        "FROM probes_selected s JOIN runs r USING (run_id) ORDER BY s.model, r.profile, s.method"),
}


def run(cfg: CollectConfig, ctx: RunContext) -> PhaseRun:
    """Build the database; return one row per collected table."""
    counts = build_database(paths.OUTPUTS, paths.database(), DERIVED)
    rows = [{"table_name": name, "n_rows": n} for name, n in counts.items()]
    yield final({"collect_tables": pd.DataFrame(rows, columns=["table_name", "n_rows"])})
