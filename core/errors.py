"""Errors that the CLI maps to exit codes: bad input is 2, everything else 1."""

from __future__ import annotations


class InputError(Exception):
    """Bad user input: a file, line and field a person can go and fix (exit code 2)."""

    def __init__(self, path: object, message: str, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field = str(path), line, field
        where = self.path + (f":{line}" if line is not None else "")
        what = f" field '{field}'" if field else ""
        super().__init__(f"{where}:{what} {message}".replace(": ", ": ", 1))
