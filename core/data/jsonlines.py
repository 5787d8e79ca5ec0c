"""Reading JSON and JSONL with line numbers, so every error can name file:line.

Python's json module reports positions only for syntax errors. Our dataset files keep one record per
line inside top-level arrays, so `read_json_records` walks the top-level object with `raw_decode` and
remembers where each array element starts; schema errors can then point at the record's line.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

from core.errors import InputError

_DECODER = json.JSONDecoder()
Located = tuple[int, Any]  # (1-based line, decoded value)


def read_text(path: Path) -> str:
    """The file's text; non-UTF-8 bytes are an InputError at the line where they occur. A UTF-8 byte-order
    mark (what editors on Windows write first) is dropped."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file: {exc.strerror}") from exc
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(path, f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", line=line) from exc


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _skip(text: str, i: int, allowed: str = "") -> int:
    while i < len(text) and (text[i].isspace() or text[i] in allowed):
        i += 1
    return i


def _decode(path: Path, text: str, i: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, i)
    except json.JSONDecodeError as exc:
        raise InputError(path, f"malformed JSON: {exc.msg}", line=exc.lineno) from exc


def _array(path: Path, text: str, i: int) -> tuple[list[Located], int]:
    items: list[Located] = []
    i = _skip(text, i + 1)
    while i < len(text) and text[i] != "]":
        value, end = _decode(path, text, i)
        items.append((_line(text, i), value))
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
        elif i < len(text) and text[i] != "]":
            raise InputError(path, "malformed JSON: expected ',' or ']'", line=_line(text, i))
    return items, i + 1


def read_json_records(path: Path) -> tuple[int, dict[str, Any]]:
    """Parse a JSON object whose array values are returned as lists of (line, element).

    Returns (line of the opening brace, {key: value or list[(line, element)]}).
    """
    text = read_text(path)
    try:
        json.loads(text)  # the authoritative syntax check, with json's own line numbers
    except json.JSONDecodeError as exc:
        raise InputError(path, f"malformed JSON: {exc.msg}", line=exc.lineno) from exc
    i = _skip(text, 0)
    if not text.startswith("{", i):
        raise InputError(path, "expected a JSON object at the top level", line=_line(text, i))
    start, out = _line(text, i), {}
    i = _skip(text, i + 1)
    while text[i] != "}":
        key, i = _decode(path, text, i)
        i = _skip(text, i, ":")
        if text[i] == "[":
            out[key], i = _array(path, text, i)
        else:
            out[key], i = _decode(path, text, i)
        i = _skip(text, i, ",")
    return start, out


def read_jsonl(path: Path) -> list[Located]:
    """Every non-blank line of a JSONL file, decoded, with its line number."""
    rows: list[Located] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise InputError(path, f"malformed JSON line: {exc.msg}", line=number) from exc
    if not rows:
        raise InputError(path, "file holds no records")
    return rows
