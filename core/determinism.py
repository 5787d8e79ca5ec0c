"""Determinism: which columns of the published tables may differ between two runs of the same params and
seed, and why; and a digest of a table that leaves exactly those out.

Every other column must come out bit-identical (tests/analyses/test_determinism.py runs a phase twice
and compares digests). The rule is one place: a table that gains a column that varies declares it here,
with its reason, or the test fails.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# Columns that vary in every table: the harness stamps each row with its run's fresh id (P7).
EVERY_TABLE: dict[str, str] = {"run_id": "a new id per run (core.provenance.new_run_id), the key to `runs`"}

# Columns that vary in one table, by table name.
VARYING: dict[str, dict[str, str]] = {
    "runs": {"started_at": "wall-clock time", "finished_at": "wall-clock time", "wall_s": "timing",
             "device": "the machine's device string can differ between hosts, not between runs here"},
    "extract_summary": {"n_new": "0 when the cache already held the texts (a rerun extracts nothing)",
                        "tokens": "counts only the texts extracted by this run",
                        "seconds": "timing", "tokens_per_s": "timing"},
}


def varying_columns(table: str) -> dict[str, str]:
    """{column: why it varies} for a table (those of every table included)."""
    return {**EVERY_TABLE, **VARYING.get(table, {})}


def table_digest(table: str, parts: Iterable[Path]) -> str:
    """sha256 of a table's parts (in the order given) with its varying columns dropped, each part written
    back as Parquet with fixed settings: equal digests mean equal values, types and row order."""
    h = hashlib.sha256()
    drop = set(varying_columns(table))
    for part in parts:
        data = pq.read_table(part)
        data = data.drop_columns([c for c in data.column_names if c in drop])
        h.update(_canonical_bytes(data))
    return h.hexdigest()


def _canonical_bytes(data: pa.Table) -> bytes:
    # metadata carries the writer's pandas schema with any dropped columns; plain values only
    buf = io.BytesIO()
    pq.write_table(data.replace_schema_metadata(None), buf, compression="none", write_statistics=False)
    return buf.getvalue()


def folder_digests(folder: Path) -> dict[str, str]:
    """{table: digest} of a published folder outputs/<phase>/<model>/ (each subfolder is a table)."""
    return {d.name: table_digest(d.name, sorted(d.glob("part-*.parquet")))
            for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".")}
