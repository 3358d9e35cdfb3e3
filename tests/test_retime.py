"""Moving a labelled time: the videos revision has the new time, the video's clips are re-cut and relabelled
from it, nothing else moves, and the move is carried through later ingests like every other edit."""
import pytest

from conftest import assert_one_line_error, curate, snapshot
from curation.errors import BadInput
from curation.ingest.layouts import read_nexar
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.retime import retime
from curation.tables import Edit
from curation.workspace import Workspace

KEY = ["clip_id", "label", "weight", "end_frame", "time_to_event_s", "eval_window"]


def _clips(ws, video=None):
    rows = ws.tables.read(ws.tables.head("nexar", "clips")).to_pylist()
    return {r["clip_id"]: {k: r[k] for k in KEY} for r in rows if video is None or r["video_id"] == video}


def test_a_moved_event_recuts_its_videos_clips_and_is_carried_through_a_reingest(ws_own_data):
    ws_root, data = ws_own_data
    ws = Workspace.open(ws_root)
    videos = ws.tables.read(ws.tables.head("nexar", "videos")).to_pylist()
    v = next(r for r in videos if r["target"] == 1 and r["split"] == "train" and r["time_of_event"] > 2.5)
    other = next(r for r in videos if r["split"] == "train" and r["video_id"] != v["video_id"])
    some_clip = next(iter(_clips(ws, other["video_id"])))
    ws.tables.edit("nexar", "clips", Edit(weights={some_clip: 0.5}), message="a user's weight")
    before_other, before_mine = _clips(ws), _clips(ws, v["video_id"])
    old, new = v["time_of_event"], round(v["time_of_event"] - 0.8, 3)

    retime(ws, "nexar", {v["video_id"]: [(old, new)]}, workers=1)
    row = next(r for r in ws.tables.read(ws.tables.head("nexar", "videos")).to_pylist()
               if r["video_id"] == v["video_id"])
    assert row["time_of_event"] == pytest.approx(new, abs=1e-3)
    assert row["time_of_alert"] == pytest.approx(v["time_of_alert"] - 0.8, abs=1e-3)  # the alert moves with it
    mine = _clips(ws, v["video_id"])
    assert mine != before_mine
    fps = v["fps"]
    for clip in mine.values():  # every clip of the video measured from the new time, none after it
        assert clip["end_frame"] <= int(new * fps)
        assert clip["time_to_event_s"] == pytest.approx(new - clip["end_frame"] / fps, abs=1e-3)
    taus = {c["eval_window"]: c["end_frame"] for c in mine.values() if c["eval_window"]}
    assert taus == {f"tau_{t:.1f}": int(round((new - t) * fps)) for t in (0.5, 1.0, 1.5)}
    others = {k: c for k, c in _clips(ws).items() if k not in mine}
    assert others == {k: c for k, c in before_other.items() if k not in before_mine}  # nothing else moved
    assert others[some_clip]["weight"] == 0.5  # the user's earlier edit stays
    head = ws.tables.head("nexar", "videos")
    assert "retime" in head.message and list(head.meta["carried"]["times"]) == [v["video_id"]]
    assert head.meta["carried"]["times"][v["video_id"]] == [[pytest.approx(old, abs=1e-3), new]]

    again = ingest(ws, read_nexar(data), "nexar", IngestOptions(frame_size=32), progress=False, workers=1)
    assert again.unchanged  # the source is as it was: the move is already in the tables
    (data / "train" / f"{other['video_id']}.mp4").touch()  # a changed file: the dataset is read again
    again = ingest(ws, read_nexar(data), "nexar", IngestOptions(frame_size=32), progress=False, workers=1)
    assert not again.unchanged and _clips(ws, v["video_id"]) == mine  # the move is carried through
    assert _clips(ws)[some_clip]["weight"] == 0.5


def test_a_move_that_cannot_apply_is_one_message_and_writes_nothing(ws_own_data, tmp_path):
    ws_root, data = ws_own_data
    ws = Workspace.open(ws_root)
    videos = ws.tables.read(ws.tables.head("nexar", "videos")).to_pylist()
    v = next(r for r in videos if r["target"] == 1 and r["split"] == "train")
    before = snapshot(ws_root)
    for moves, needle in [({v["video_id"]: [(v["time_of_event"] + 0.3, 1.0)]}, "no labelled time"),
                          ({"nope": [(1.0, 2.0)]}, "unknown video"),
                          ({v["video_id"]: [(v["time_of_event"], 99.0)]}, "outside the video"),
                          ({}, "no times")]:
        with pytest.raises(BadInput, match=needle):
            retime(ws, "nexar", moves, workers=1)
    (data / "train.csv").write_text((data / "train.csv").read_text() + "\n")  # the source changed meanwhile
    with pytest.raises(BadInput, match="changed since its last ingest"):
        retime(ws, "nexar", {v["video_id"]: [(v["time_of_event"], 1.0)]}, workers=1)
    assert snapshot(ws_root) == before


def test_an_edit_file_weights_rows_and_retimes_a_video_in_one_command(ws_own_data, tmp_path):
    ws_root, _ = ws_own_data
    ws = Workspace.open(ws_root)
    videos = ws.tables.read(ws.tables.head("nexar", "videos")).to_pylist()
    v = next(r for r in videos if r["target"] == 1 and r["split"] == "train" and r["time_of_event"] > 2.5)
    clip = next(iter(_clips(ws, next(r["video_id"] for r in videos if r is not v and r["split"] == "train"))))
    new = round(v["time_of_event"] - 0.6, 3)
    edits = tmp_path / "edits.csv"
    edits.write_text(f"id,level,action,value\n{clip},clip,weight,0.25\n{v['video_id']},video,retime,{new}\n")
    before = snapshot(ws_root)
    for bad, needle in [(f"{v['video_id']},video,retime,1:2:3", "not NEW or OLD:NEW"),
                        (f"{v['video_id']},clip,retime,1.0", "level video"),
                        (f"{v['video_id']},video,retime,{v['time_of_event'] + 0.3}:1.0", "no labelled time")]:
        (tmp_path / "bad.csv").write_text(f"id,level,action,value\n{clip},clip,weight,0.25\n{bad}\n")  # row edit too
        assert_one_line_error(curate("-w", ws_root, "edit", "clips", "--from", tmp_path / "bad.csv", "-m", "x"),
                              needle)
    assert snapshot(ws_root) == before
    proc = curate("-w", ws_root, "edit", "clips", "--from", edits, "-m", "weight one clip, move one event")
    assert proc.returncode == 0, proc.stderr
    assert "retimed 1 labelled time(s) of 1 video(s)" in proc.stdout
    ws = Workspace.open(ws_root)
    row = next(r for r in ws.tables.read(ws.tables.head("nexar", "videos")).to_pylist()
               if r["video_id"] == v["video_id"])
    assert row["time_of_event"] == pytest.approx(new, abs=1e-3)
    assert _clips(ws)[clip]["weight"] == 0.25  # the row edit, then the retime that kept it
    assert [r.message for r in ws.tables.revisions("nexar", "clips")][-2:] == [
        "weight one clip, move one event", "weight one clip, move one event"]
