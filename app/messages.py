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
