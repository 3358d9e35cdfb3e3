"""Re-ingest never resets curation: the user's edits are carried to the new source by id."""
import csv
import shutil

import pyarrow as pa
import pytest

from conftest import SPEC, curate, make_clips
from curation.tables import Edit, TableSpec
from curation.tables.carry import apply_overlay, user_edits
from curation.workspace import Workspace


def _shift_alert(root, video: str, seconds: float) -> None:
    """Change one positive video's alert time in train.csv (its clips' labels change with it)."""
    path = root / "train.csv"
    rows = list(csv.DictReader(open(path)))
    for row in rows:
        if row["id"] == video:
            row["time_of_alert"] = f"{float(row['time_of_alert']) + seconds:.3f}"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _clips(ws_dir, ref="clips"):
    ws = Workspace.open(ws_dir)
    return {r["clip_id"]: r for r in ws.tables.read(ws.resolve(ref)).to_pylist()}


def test_reingest_carries_deletes_and_weights_through_the_command(prebuilt, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(prebuilt / "data", data)
    ws = tmp_path / "ws"
    assert curate("-w", ws, "ingest", "nexar", data, "--frame-size", "32").returncode == 0
    clips = _clips(ws)
    train = sorted(i for i, c in clips.items() if c["split"] == "train")
    deleted, zeroed = train[:2], train[5]
    assert curate("-w", ws, "edit", "clips", "--delete", ",".join(deleted), "-m", "A").returncode == 0
    assert curate("-w", ws, "edit", "clips", "--weight", "0", "--ids", zeroed, "-m", "B").returncode == 0
    positive = next(c["video_id"] for c in clips.values() if c["label"] == 1 and c["video_id"] not in
                    {clips[i]["video_id"] for i in deleted})
    _shift_alert(data, positive, -0.4)

    proc = curate("-w", ws, "ingest", "nexar", data, "--frame-size", "32")
    assert proc.returncode == 0, proc.stderr
    assert "clips: carried your edits forward by id: deleted 2, reweighted 1" in proc.stdout
    after = _clips(ws, "clips@4")
    assert not set(deleted) & set(after) and after[zeroed]["weight"] == 0
    assert sum(c["label"] for c in after.values() if c["video_id"] == positive) > \
        sum(c["label"] for c in clips.values() if c["video_id"] == positive)  # the new source did arrive
    ws_lib = Workspace.open(ws)
    rev = ws_lib.resolve("clips@4")
    assert rev.meta["carry"]["deleted"] == 2 and rev.meta["carry"]["reweighted"] == 1
    assert "carried 3 edited row(s)" in rev.message

    # A second re-ingest (a new change) still carries them: the overlay recorded in clips@4 is the base.
    _shift_alert(data, positive, 0.2)
    assert curate("-w", ws, "ingest", "nexar", data, "--frame-size", "32").returncode == 0
    again = _clips(ws)
    assert not set(deleted) & set(again) and again[zeroed]["weight"] == 0

    proc = curate("-w", ws, "ingest", "nexar", data, "--frame-size", "32", "--discard-edits")
    assert proc.returncode == 0 and "discarded" in proc.stdout
    assert set(deleted) <= set(_clips(ws)) and _clips(ws)[zeroed]["weight"] == 1


VIDEO_SPEC = TableSpec("ds", "clips", "clips", "clip_id", "label", "weight", ["a", "b", "c"],
                       parent={"table": "videos", "key": "video_id"})


def _table(rows):
    return pa.table({"clip_id": [r[0] for r in rows], "video_id": [r[0].split(":")[0] for r in rows],
                     "label": pa.array([r[1] for r in rows], pa.int32()),
                     "weight": pa.array([1.0] * len(rows), pa.float32())})


def test_video_level_edits_reach_new_clips_and_relabel_conflicts_are_reported(store):
    source = _table([("v1:0", 0), ("v1:4", 0), ("v2:0", 1), ("v2:4", 1), ("v3:0", 2), ("v3:4", 2)])
    store.create(VIDEO_SPEC, source, message="ingest", meta={"ingest": {}})
    store.edit("ds", "clips", Edit(weights={"v1:0": 0.25, "v1:4": 0.25}, videos={"v1": {"action": "weight",
                                                                                       "value": 0.25}}),
               message="video v1 down")
    store.edit("ds", "clips", Edit(delete={"v2:0", "v2:4"}, videos={"v2": {"action": "delete", "value": None}}),
               message="drop video v2")
    store.edit("ds", "clips", Edit(labels={"v3:0": 1, "v3:4": 0}), message="relabel")
    overlay = user_edits(store, "ds", "clips")
    assert overlay.delete == {"v2:0", "v2:4"} and set(overlay.videos) == {"v1", "v2"}
    assert overlay.labels == {"v3:0": (1, 2), "v3:4": (0, 2)}

    # New source: every video has a new clip at 8; v3:0's source label moved to 0 (a conflict with the
    # user's 1), v3:4's to 0 (now agreeing with the user); v9 is new.
    new = _table([("v1:0", 0), ("v1:4", 0), ("v1:8", 0), ("v2:0", 1), ("v2:4", 1), ("v2:8", 1), ("v3:0", 0),
                  ("v3:4", 0), ("v3:8", 2), ("v9:0", 1)])
    data, carried, report = apply_overlay(VIDEO_SPEC, overlay, new)
    rows = {r["clip_id"]: r for r in data.to_pylist()}
    assert {i for i in rows if i.startswith("v2")} == set()  # the deleted video's new clip is gone too
    assert [rows[i]["weight"] for i in ("v1:0", "v1:4", "v1:8")] == [0.25] * 3
    assert rows["v3:0"]["label"] == 1 and rows["v3:4"]["label"] == 0 and rows["v3:8"]["label"] == 2
    assert rows["v9:0"]["weight"] == 1.0
    assert report.conflicts == [{"id": "v3:0", "source_was": 2, "source_now": 0, "user": 1}]
    assert report.agreed == ["v3:4"] and report.deleted == 3 and report.reweighted == 3 and report.relabeled == 1
    assert "v3:4" not in carried.labels and carried.labels["v3:0"] == (1, 0)


def test_reverted_edits_and_vanished_ids_are_not_carried(clips_store):
    ids = clips_store.read(clips_store.head("ds", "clips"), ["clip_id"])["clip_id"].to_pylist()
    clips_store.edit("ds", "clips", Edit(delete={ids[0]}, weights={ids[1]: 0.5}), message="x")
    clips_store.revert("ds", "clips", 1, message="undo")
    clips_store.edit("ds", "clips", Edit(weights={ids[2]: 0.0, ids[3]: 2.0}), message="y")
    overlay = user_edits(clips_store, "ds", "clips")
    assert not overlay.delete and overlay.weights == {ids[2]: 0.0, ids[3]: 2.0}
    data, _, report = apply_overlay(SPEC, overlay, make_clips(100).filter(pa.compute.field("clip_id") != ids[3]))
    assert report.gone == [ids[3]] and report.reweighted == 1


@pytest.mark.parametrize("with_base", [True, False])
def test_disjoint_edits_from_an_old_base_apply_and_overlaps_conflict(clips_store, with_base):
    from curation.errors import Conflict

    ids = clips_store.read(clips_store.head("ds", "clips"), ["clip_id"])["clip_id"].to_pylist()
    clips_store.edit("ds", "clips", Edit(weights={ids[0]: 0.5}), message="first writer", base=1)
    rev = clips_store.edit("ds", "clips", Edit(weights={ids[1]: 0.5}), message="second writer", base=1)
    assert rev.number == 3 and rev.meta["rebased_from"] == 1
    head = {r["clip_id"]: r["weight"] for r in clips_store.read(rev).to_pylist()}
    assert head[ids[0]] == head[ids[1]] == 0.5
    with pytest.raises(Conflict, match="changed .* since revision 1"):
        clips_store.edit("ds", "clips", Edit(delete={ids[0]}), message="overlap", base=1)
    if with_base:
        assert clips_store.edit("ds", "clips", Edit(delete={ids[0]}), message="forced", base=1,
                                rebase=True).number == 4
