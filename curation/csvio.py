"""Reading user CSVs strictly: a missing column, a ragged line or a bad number is one BadInput line."""
from __future__ import annotations

import csv
import math
from pathlib import Path

from curation.errors import BadInput, NotFound


def read_rows(path: Path, required: list[str], what: str = "file") -> list[dict]:
    """Rows as dicts of stripped strings, each with its line number under '_line'."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{what} {path} not found", "check the path")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in required if c not in header]
            if missing:
                raise BadInput(f"{path.name} lacks column(s) {', '.join(missing)} (header: {','.join(header)})",
                               f"the header must include {','.join(required)}")
            rows = []
            for line, row in enumerate(reader, start=2):
                if None in row or any(v is None for v in row.values()):
                    raise BadInput(f"{path.name} line {line}: the number of fields does not match the header",
                                   "fix the CSV")
                rows.append({**{k.strip(): (v or "").strip() for k, v in row.items()}, "_line": line})
            return rows
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not a text CSV", "give a UTF-8 CSV file") from None


def nonneg_float(value: str, what: str, fix: str = "fix the CSV") -> float:
    """A finite number >= 0, or BadInput naming `what`."""
    try:
        out = float(value)
    except (TypeError, ValueError):  # TypeError: a JSON list or object where a number belongs
        raise BadInput(f"{what} {value!r} is not a number", fix) from None
    if not math.isfinite(out) or out < 0:
        raise BadInput(f"{what} {value!r} must be finite and >= 0", fix)
    return out
