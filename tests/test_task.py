"""The task concept: what a dataset is for, read back from its last ingest; only ingest and the task code
name tables."""
import ast
from pathlib import Path

import pytest

from curation.errors import NotFound
from curation.task import SAMPLES, TABLE_NAMES, TEST, VIDEOS, find_task
from curation.workspace import Workspace

PACKAGE = Path(__file__).parents[1] / "curation"
STORE_CALLS = {"head", "exists", "spec", "revision", "revisions", "edit", "replace", "create", "tags", "set_tag",
               "revert", "resolve", "read"}


def _table_literal(node) -> bool:
    text = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        text = node.values[0].value
    return text is not None and any(text == n or text.startswith(f"{n}@") for n in TABLE_NAMES.values())


def test_no_table_name_literal_outside_ingest_and_the_task():
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "ingest") or path == PACKAGE / "task.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in STORE_CALLS:
                found += [f"{path.relative_to(PACKAGE)}:{node.lineno}" for a in node.args if _table_literal(a)]
    assert not found, found


def test_the_task_is_what_the_last_ingest_recorded(ws_dir):
    ws = Workspace.open(ws_dir)
    task = ws.task()
    assert (task.layout, task.event_task, task.metric, task.submission) == ("nexar", True, "mAP", "nexar-csv")
    assert task.export_format == "nexar-csv"
    assert task.classes == ("normal", "collision") and task.frame_size == 32
    assert task.table(SAMPLES) == "clips" and task.head(ws.tables, TEST).table == "test"
    assert task.ref(SAMPLES) == "nexar/clips@latest" and Path(task.root).name == "data"
    ids = ws.tables.read(ws.resolve("videos"), ["video_id"])["video_id"].to_pylist()
    from curation.tables import Edit

    ws.tables.edit("nexar", "videos", Edit(weights={ids[0]: 0.5}), message="an edit is not an ingest")
    assert ws.task() == task  # read from the last ingest revision, not the head


def test_class_layouts_have_no_test_table_and_say_so(tmp_path, prebuilt):
    import shutil

    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_folders

    for i, video in enumerate(sorted((prebuilt / "data" / "train").glob("*.mp4"))[:4]):
        folder = tmp_path / "ucf" / ("brake" if i % 2 else "drive")
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(video, folder / f"v_g{i:02d}_c01.mp4")
    ws = Workspace.open(tmp_path / "ws")
    ingest(ws, read_folders(tmp_path / "ucf"), "ucf", IngestOptions(frame_size=32), progress=False)
    task = ws.task("ucf")
    assert (task.layout, task.event_task, task.metric, task.submission) == ("folders", False, "accuracy", None)
    assert task.export_format == "manifest-csv"
    assert task.has(VIDEOS) and not task.has(TEST)
    with pytest.raises(NotFound, match="ucf has no test table"):
        task.table(TEST)
    assert find_task(ws.tables, "nope") is None
