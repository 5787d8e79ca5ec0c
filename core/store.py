"""The results store (DESIGN §5): Parquet parts per phase and model, and the collected DuckDB.

Phases never write files themselves. The harness writes each returned table as
outputs/<phase>/<model>/<table>/part-<unit>.parquet (temporary name, then rename), staging a run in
outputs/.staging/ and swapping it into place only when the run finishes. `collect` turns every table
found into a DuckDB table in outputs/results.duckdb, built under a temporary name and renamed, so no
process ever holds the live file open while phases run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from collections.abc import Collection, Mapping
from pathlib import Path

import duckdb
import pandas as pd

from core import paths, views


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write one Parquet file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def write_tables(folder: Path, tables: dict[str, pd.DataFrame], unit: str = "all") -> None:
    """Write each table of a work unit as <folder>/<table>/part-<unit>.parquet."""
    for name, df in tables.items():
        write_parquet(df, folder / name / f"part-{unit}.parquet")


def unit_marker(folder: Path, unit: str) -> Path:
    """The file that says a work unit's parts are all written (the harness's bookkeeping, never published)."""
    return folder / ".units" / f"{unit}.json"


def write_unit(folder: Path, unit: str, tables: dict[str, pd.DataFrame]) -> None:
    """Write a work unit's tables as part-<unit>.parquet, then its marker: a unit killed half-way is not done."""
    write_tables(folder, tables, unit)
    marker = unit_marker(folder, unit)
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_name(f".{marker.name}.tmp")
    tmp.write_text(json.dumps(sorted(tables)))
    os.replace(tmp, marker)


def done_units(folder: Path) -> set[str]:
    """Work units whose parts are all written (for resuming)."""
    return {p.stem for p in (folder / ".units").glob("*.json")}


def read_unit(folder: Path, unit: str) -> dict[str, pd.DataFrame]:
    """A finished work unit's tables, read back from its parts."""
    names = json.loads(unit_marker(folder, unit).read_text())
    return {name: pd.read_parquet(folder / name / f"part-{unit}.parquet") for name in names}


def publish(staging: Path, final: Path) -> None:
    """Replace the published results of a (phase, model) with a finished staging folder."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = final.with_name(f".{final.name}.old")
    if final.exists():
        os.replace(final, old)
    os.replace(staging, final)
    shutil.rmtree(old, ignore_errors=True)


def read_table(folder: Path, table: str) -> pd.DataFrame:
    """All parts of one published table, e.g. read_table(phase_dir("probes", alias), "probes_directions")."""
    parts = sorted((folder / table).glob("part-*.parquet"))
    if not parts:
        raise FileNotFoundError(f"no table '{table}' under {folder}; run the phase that writes it first")
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def find_tables(outputs: Path, skip_phases: Collection[str] = ()) -> dict[str, list[Path]]:
    """Every table under outputs/<phase>/<model>/<table>/part-*.parquet, by table name (but those of
    `skip_phases`)."""
    found: dict[str, list[Path]] = defaultdict(list)
    for phase, _, table, part in paths.published_parts(outputs):
        if phase not in skip_phases:
            found[table].append(part)
    return dict(found)


def load_tables(con: duckdb.DuckDBPyConnection, outputs: Path, derived: Mapping[str, views.Query],
                kind: str = "TABLE", skip_phases: Collection[str] = ()) -> dict[str, int]:
    """Create one table (or view) per published table, then one per derived table whose inputs exist;
    returns row counts per table."""
    counts: dict[str, int] = {}
    for name, parts in sorted(find_tables(outputs, skip_phases).items()):
        con.execute(views.over_parquet(name, [str(p) for p in parts], kind))
        counts[name] = _count(con, name)
    for name, query in derived.items():
        sql = query.render(counts)
        if sql is not None:
            con.execute(views.create_as(name, sql, kind))
            counts[name] = _count(con, name)
    return counts


def _count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    row = con.execute(views.count_rows(views.quote_name(name))).fetchone()
    return int(row[0]) if row else 0


def build_database(outputs: Path, target: Path, derived: Mapping[str, views.Query]) -> dict[str, int]:
    """Materialise every table (and each derived table whose inputs exist) into a fresh DuckDB file,
    built under a temporary name and renamed; returns row counts per table."""
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    with duckdb.connect(str(tmp)) as con:
        counts = load_tables(con, outputs, derived)
    os.replace(tmp, target)
    return counts
