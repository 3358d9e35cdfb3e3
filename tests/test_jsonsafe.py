import json
import math

from curation.jsonsafe import json_row, json_value


def test_json_value_nulls_what_json_cannot_carry_at_any_depth():
    value = {"a": math.nan, "b": [1.5, math.inf, {"c": -math.inf}], "d": (2, math.nan), "e": "x"}
    out = json_value(value)
    assert out == {"a": None, "b": [1.5, None, {"c": None}], "d": [2, None], "e": "x"}
    json.dumps(out, allow_nan=False)  # raises if a NaN or infinity is left


def test_json_row_shows_no_bytes_or_list_cells():
    row = {"id": "v1", "embedding": [0.1, 0.2], "thumb": b"\xff\xd8", "loss": math.nan, "weight": 1.0}
    assert json_row(row) == {"id": "v1", "embedding": None, "thumb": None, "loss": None, "weight": 1.0}
