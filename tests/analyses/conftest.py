"""A throwaway project folder for the end-to-end phase tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ROOT, write_mini_dataset


@contextmanager
def mini_project(root: Path) -> Iterator[Path]:
    """Make `root` a project (params.yaml, data/ and a one-instance-per-family mini dataset), work
    inside it, and yield the mini dataset's path; the working directory is restored afterwards."""
    (root / "data").symlink_to(ROOT / "data")
    (root / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    data = write_mini_dataset(root / "mini.json", per_family=1)
    old = Path.cwd()
    os.chdir(root)
    try:
        yield data
    finally:
        os.chdir(old)
