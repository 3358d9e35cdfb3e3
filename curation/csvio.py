"""Reading user CSVs strictly: a missing column, a ragged line or a bad number is one BadInput line."""
from __future__ import annotations

import csv
import math
from pathlib import Path

from curation.errors import BadInput
from curation.fsutil import input_file


MAX_LINE = 1 << 20  # characters of one CSV line: far beyond any real row, and memory stays bounded on a broken file


def read_rows(path: Path, required: list[str], what: str = "file") -> list[dict]:
    """Rows as dicts of stripped strings, each with its line number under '_line'."""
    path = input_file(path, what, "check the path")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(_capped_lines(f, path))
            header = [h.strip() for h in next(reader, [])]
            missing = [c for c in required if c not in header]
            if missing:
                raise BadInput(f"{path.name} lacks column(s) {', '.join(missing)} (header: {','.join(header)})",
                               f"the header must include {','.join(required)}")
            if repeated := sorted({h for h in header if header.count(h) > 1}):
                raise BadInput(f"{path.name}: column(s) {', '.join(repeated)} appear more than once in the header",
                               "keep one column of each name")
            rows = []
            for fields in reader:
                if not fields:
                    continue  # a blank line
                if len(fields) != len(header):
                    raise BadInput(f"{path.name} line {reader.line_num}: the number of fields does not match the "
                                   "header", "fix the CSV")
                rows.append({**{k: v.strip() for k, v in zip(header, fields)}, "_line": reader.line_num})
            return rows
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not a text CSV", "give a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise BadInput(f"{path.name} line {reader.line_num}: {exc}", "fix the CSV") from None


def _capped_lines(f, path: Path):
    """The file's lines, refusing one longer than MAX_LINE before it is read whole."""
    while line := f.readline(MAX_LINE + 1):
        if len(line) > MAX_LINE:
            raise BadInput(f"{path.name} has a line longer than {MAX_LINE:,} characters", "fix the CSV")
        yield line


def nonneg_float(value: str, what: str, fix: str = "fix the CSV") -> float:
    """A finite number >= 0, or BadInput naming `what`."""
    try:
        out = float(value)
    except (TypeError, ValueError):  # TypeError: a JSON list or object where a number belongs
        raise BadInput(f"{what} {value!r} is not a number", fix) from None
    if not math.isfinite(out) or out < 0:
        raise BadInput(f"{what} {value!r} must be finite and >= 0", fix)
    return out
