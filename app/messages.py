"""Messages that workers post back to the UI thread (posting/harlequin style: small dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message


@dataclass
class PhaseStarted(Message):
    """A phase subprocess has started."""

    phase: str
    argv: list[str]


@dataclass
class PhaseLine(Message):
    """One line of a phase's output, with the tqdm percent when the line carries a bar."""

    phase: str
    line: str
    progress: float | None = None


@dataclass
class PhaseFinished(Message):
    """A phase subprocess has exited (returncode None: it could not start)."""

    phase: str
    returncode: int | None
    cancelled: bool = False
    error: str = ""


@dataclass
class TablePicked(Message):
    """The user picked a table in the Results tree."""

    table: str


@dataclass
class PageLoaded(Message):
    """A page of a table has been fetched off-thread."""

    table: str
    where: str | None
    offset: int
    total: int
    columns: list[str]
    rows: list[tuple[Any, ...]]
    series: dict[str, tuple[list[int], list[float]]] | None = None  # AUROC by layer, for the plot


@dataclass
class QueryFailed(Message):
    """A page fetch or export failed (bad filter, missing file)."""

    error: str


@dataclass
class Exported(Message):
    """The current view was written to a CSV file."""

    path: str
    rows: int


@dataclass
class StatusesLoaded(Message):
    """The phases' on-disk states, scanned off-thread."""

    statuses: list[Any]


@dataclass
class DeviceFound(Message):
    """The accelerator the runner sees ("" when none), probed off-thread."""

    badge: str


@dataclass
class RunnerReady(Message):
    """The worker has built the subprocess runner: the handler keeps it (workers set no screen state)."""

    runner: Any


@dataclass
class CatalogRefreshed(Message):
    """outputs/ was re-scanned off-thread; `tables` are the names now present."""

    tables: list[str]


@dataclass
class ProvenanceLoaded(Message):
    """The fields of one run (empty: unknown run)."""

    run_id: str
    fields: list[tuple[str, str]]


@dataclass
class TranscriptsLoaded(Message):
    """The prompts with generations, and the generations of the one shown."""

    prompts: list[Any]
    index: int
    generations: list[Any]


@dataclass
class PlotsLoaded(Message):
    """Every plot's series, read off-thread."""

    data: Any


@dataclass
class ReviewLoaded(Message):
    """The sheet being reviewed (resumed from disk or freshly sampled)."""

    sheet: Any
    path: str
    error: str = ""


@dataclass
class ReviewImported(Message):
    """The sheet went through the import path; `summary` holds the agreement rows (or `error`)."""

    summary: list[tuple[str, str, float | None, int]]
    error: str = ""


@dataclass
class FindingsLoaded(Message):
    """The claims evaluated against the results store."""

    claims: list[Any]
    error: str = ""
