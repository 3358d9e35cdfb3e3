"""The filter language: what it selects, and that nothing a user types runs as code."""
import math

import pyarrow as pa
import pytest

from conftest import assert_one_line_error, curate, snapshot
from curation.errors import BadInput
from curation.filters import MAX_DEPTH, compile_filter, filter_table

ROWS = [
    {"clip_id": "a:1", "label": 0, "loss": 0.5, "split": "train", "weight": 1.0},
    {"clip_id": "b:2", "label": 1, "loss": 2.0, "split": "val", "weight": 0.0},
    {"clip_id": "c:3", "label": 1, "loss": None, "split": "train", "weight": 0.25},
    {"clip_id": "d:4", "label": None, "loss": 3.5, "split": "test", "weight": 1.0},
]
TABLE = pa.Table.from_pylist(ROWS, schema=pa.schema([("clip_id", pa.string()), ("label", pa.int32()),
                                                     ("loss", pa.float64()), ("split", pa.string()),
                                                     ("weight", pa.float32())]))


def ids(where: str) -> list[str]:
    return filter_table(TABLE, where)["clip_id"].to_pylist()


def known(v):
    return v is not None and not (isinstance(v, float) and math.isnan(v))


@pytest.mark.parametrize("where, keep", [
    ("label == 1", lambda r: r["label"] == 1),
    ("loss > 1.5 and label == 1", lambda r: known(r["loss"]) and r["loss"] > 1.5 and r["label"] == 1),
    ("label == 1 or split == 'test'", lambda r: r["label"] == 1 or r["split"] == "test"),
    ("not (weight == 0)", lambda r: r["weight"] != 0),
    ("split in ['train', 'val']", lambda r: r["split"] in ("train", "val")),
    ("split not in (\"train\",)", lambda r: r["split"] != "train"),
    ("loss is null", lambda r: not known(r["loss"])),
    ("loss is not null and label is null", lambda r: known(r["loss"]) and r["label"] is None),
    ("abs(loss - 2) <= 1.5", lambda r: known(r["loss"]) and abs(r["loss"] - 2) <= 1.5),
    ("label / 2 >= 0.5", lambda r: r["label"] is not None and r["label"] / 2 >= 0.5),
    ("-loss < -1 & weight * 4 >= 1", lambda r: known(r["loss"]) and -r["loss"] < -1 and r["weight"] * 4 >= 1),
    ("startswith(clip_id, 'b') | endswith(clip_id, ':3')", lambda r: r["clip_id"][0] == "b" or r["clip_id"][-2:] == ":3"),
    ("contains(split, 'ai') and `weight` < 1", lambda r: "ai" in r["split"] and r["weight"] < 1),
    ("label in [1, 2] and weight != 1.0", lambda r: r["label"] in (1, 2) and r["weight"] != 1),
    ("NOT label == 0 AND split IS NOT NULL", lambda r: r["label"] is not None and r["label"] != 0),
])
def test_filters_select_what_they_say(where, keep):
    assert ids(where) == [r["clip_id"] for r in ROWS if keep(r)]


@pytest.mark.parametrize("where, problem", [
    ("label + 1", "not a condition"),
    ("loss", "not a condition"),
    ("label = 1", "use =="),
    ("split > 1", "cannot compare"),
    ("label == null", "is null"),
    ("nosuch > 1", "unknown column"),
    ("label == 1 and", "ends too early"),
    ("label in []", "empty"),
    ("split in ['a', 1]", "cannot look for"),
    ("not label", "must be a condition"),
    ("label == 99999999999999999999999", "too large"),
    ("", "empty"),
])
def test_malformed_filters_are_one_bad_input_line(where, problem):
    with pytest.raises(BadInput) as err:
        compile_filter(where, TABLE.schema)
    assert problem in str(err.value) and "\n" not in str(err.value)


HOSTILE = [
    "@pd.io.common.os.system('touch {marker}') == 0",
    "__import__('os').system('touch {marker}') == 0",
    "label.__class__.__mro__ == 1",
    "().__class__.__bases__[0].__subclasses__() == 1",
    "open('{marker}', 'w') == 1",
    "Path('{marker}').touch() == 1",
    "(lambda: __import__('os').system('touch {marker}'))() == 0",
    "[x for x in (1,)] == 1",
    "label == 1; import os",
    "label == 1 if True else 0",
    "eval(\"__import__('os').system('touch {marker}')\") == 0",
    "@label == 1",
    "label == 1 or `__class__` == 1",
    "exec('x') == 1",
    "getattr(label, '__class__') == 1",
    "label[0] == 1",
    "label == {{1}}",
    "f'{{label}}' == 1",
    "label == 0x1",
    "label == 1 " + "and label == 1 " * 1000,
    "(" * (MAX_DEPTH + 5) + "label == 1" + ")" * (MAX_DEPTH + 5),
    "not " * 500 + "label == 1",
    "- " * 500 + "label == 1",
    "label == 1 and " + "x" * 10_000,
]


@pytest.mark.parametrize("template", HOSTILE)
def test_hostile_filters_are_refused_and_run_nothing(template, tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(BadInput) as err:
        filter_table(TABLE, template.format(marker=marker))
    assert "\n" not in str(err.value) and len(str(err.value)) < 600
    assert not marker.exists()


def test_hostile_and_non_boolean_filters_through_the_command(ws_dir, tmp_path):
    marker = tmp_path / "pwned"
    before = snapshot(ws_dir)
    for args in (["show", "clips", "--where", f"@pd.io.common.os.system('touch {marker}') == 0"],
                 ["show", "clips", "--where", f"@Path('{marker}').touch() == 0"],
                 ["edit", "clips", "--delete", "--where", f"@pd.io.common.os.system('touch {marker}') == 0",
                  "-m", "x"],
                 ["edit", "clips", "--delete", "--where", "label + 1", "-m", "x"],
                 ["edit", "clips", "--weight", "0", "--where", "weight", "-m", "x"]):
        assert_one_line_error(curate("--workspace", ws_dir, *args), "filter")
    assert not marker.exists()
    assert snapshot(ws_dir) == before


def test_edit_where_edits_exactly_the_matching_rows(ws_dir):
    from curation.workspace import Workspace

    ws = Workspace.open(ws_dir)
    clips = ws.tables.read(ws.resolve("clips"))
    expected = {r["clip_id"] for r in clips.to_pylist() if r["label"] == 1 and r["split"] == "train"}
    assert expected
    proc = curate("--workspace", ws_dir, "edit", "clips", "--weight", "0.5", "--where",
                  "label == 1 and split == 'train'", "-m", "half the positives")
    assert proc.returncode == 0, proc.stderr
    after = {r["clip_id"]: r["weight"] for r in ws.tables.read(ws.resolve("clips")).to_pylist()}
    assert {i for i, w in after.items() if w == 0.5} == expected


@pytest.mark.parametrize("where", ["9223372036854775807 + 1 > 0", "label + 9223372036854775807 > 0",
                                   "-9223372036854775807 - 2 < 0", "label * 9223372036854775807 * 4 > 0",
                                   "label + 2147483647 > 0"])  # label is int32: its sums stay int32
def test_integer_overflow_is_refused_not_wrapped(where):
    with pytest.raises(BadInput, match="overflow"):
        ids(where)
    assert ids("label + 2147483646 > 0") == ["a:1", "b:2", "c:3"]  # up to the limit: exact
