"""Values as JSON can carry them: JSON has no NaN or infinity (they become null), and table cells that are
bytes or lists (embeddings, thumbnails) are not shown as values (null)."""
from __future__ import annotations


def json_value(value):
    """NaN and infinities → None, through dicts, lists and tuples."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def json_row(row: dict) -> dict:
    """A table row's cells as JSON values; bytes and list cells become None."""
    return {k: None if isinstance(v, (bytes, list)) else json_value(v) for k, v in row.items()}
