"""Every user mistake through the real `curate` command: exit 2, one line on stderr naming the problem and the
fix, no traceback, and the workspace byte for byte as it was."""
import json
import os
import shutil
import stat

import pytest

from conftest import assert_one_line_error, curate, curate_subprocess, snapshot
from curation.workspace import Workspace

FIRST_CLIP = "@first"  # replaced by a real clip id of the workspace


@pytest.mark.parametrize("args, needle", [
    (["edit", "clips", "--delete", "", "-m", "x"], "no ids"),
    (["edit", "clips", "--weight", "1e39", "--ids", FIRST_CLIP, "-m", "x"], "out of range"),
    (["edit", "clips", "--weight", "1e-50", "--ids", FIRST_CLIP, "-m", "x"], "out of range"),
    (["edit", "clips", "--weight", "inf", "--ids", FIRST_CLIP, "-m", "x"], "weight"),
    (["edit", "clips", "--delete", "--where", "label + 1", "-m", "x"], "not a condition"),
    (["train", "--batch-size", "0"], "batch_size"),
    (["train", "--draws", "-5"], "draws_per_epoch"),
    (["train", "--lr", "-1"], "lr"),
    (["train", "--workers", "-1"], "workers"),
    (["train", "--epochs", "0"], "epochs"),
    (["train", "--epochs", "99999999999999999999999"], "epochs"),  # refused, not trained for ever
    (["train", "--seed", "-1"], "seed"),
    (["train", "--draws", "99999999999999999999999"], "draws_per_epoch"),
    (["sweep", "--trials", "99999999999999999999999"], "trials is outside"),
    (["train", "--fold", "99999999999999999999999"], "fold"),
    (["train", "--weight-decay", "1e30"], "weight_decay"),
    (["train", "--folds", "99999999999999999999999"], "folds is outside"),
    (["ingest", "nexar", "@data", "--seed", "-99999999999999999999999"], "seed"),
    (["ingest", "nexar", "@data", "--workers", "99999999999999999999999"], "worker processes is outside"),
    (["ingest", "nexar", "@data", "--folds", "99999999999999999999999"], "folds must be from 2 to 100"),
    (["ingest", "nexar", "@data", "--stride", "99999999999999999999999"], "stride"),
    (["train", "--max-skip-fraction", "2"], "max-skip-fraction"),
    (["train", "--epochs", "x"], "--epochs"),
    (["train", "--table", "videos"], "training needs a table of labelled clips"),
    (["train", "--table", "test@1"], "training needs a table of labelled clips"),
    (["submit", "--table", "clips@1"], "scores the test videos"),
    (["submit", "--table", "videos@1"], "scores the test videos"),
    (["ingest", "nexar", "@data", "--clip-frames", "0"], "clip frames"),
    (["ingest", "nexar", "@data", "--frame-size", "0"], "frame size"),
    (["ingest", "nexar", "@data", "--stride", "-1"], "stride"),
    (["ingest", "nexar", "@data", "--clip-seconds", "0"], "clip seconds"),
    (["ingest", "nexar", "@data", "--name", "../evil"], "invalid dataset name"),
    (["ingest", "nexar", "@data", "--name", "a/b"], "invalid dataset name"),
    (["ingest", "nexar", "@data", "--label-rule", "soon"], "label rule"),
    (["ingest", "nexar", "@data/train.csv"], "is a file, not a folder"),
    (["ingest", "nexar", "@data", "--split", ""], "three shares adding up to 1"),
    (["ingest", "nexar", "@data", "--split", "nan,0.5,0.5"], "three shares adding up to 1"),
    (["ingest", "nexar", "@data", "--ray", "nowhere.invalid:1"], "no Ray cluster answers at nowhere.invalid:1"),
    (["ingest", "nexar", "@data", "--ray", "127.0.0.1:1"], "no Ray cluster answers at 127.0.0.1:1"),
    (["ingest", "activitynet-json", "@data"], "is a folder"),
    (["ingest", "activitynet-json", "@data/none.json"], "there is no file"),
    (["ingest", "manifest", "@data"], "is a folder"),
    (["synth", "@data/../s", "--train", "99999999999999999999999"], "n_train=99999999999999999999999 is outside"),
    (["synth", "@data/../s", "--duration", "inf"], "duration_s=inf is outside"),
    (["synth", "@data/../s", "--layout", "folders", "--test", "-1"], "n_test=-1 is outside"),
    (["dashboard", "--host", "256.1.1.1"], "cannot serve on 256.1.1.1"),
    (["dashboard", "--host", "192.0.2.1"], "cannot serve on 192.0.2.1"),  # an address of no machine here
    (["ingest", "nexar", "@data", "--split", "0.7,0.3,0", "--folds", "5"], "cannot go with --folds"),
    (["ingest", "nexar", "@data", "--split", "0.7,0.3,0", "--val-fraction", "0.1"], "cannot go with --val-fraction"),
    (["train", "--resume", "run-0001", "--table", "clips@1"], "--table would be ignored"),
    (["train", "--resume", "run-0001", "--epochs", "3", "--lr", "0.1"], "--epochs, --lr would be ignored"),
    (["train", "--seeds", "0,1", "--repeat", "2"], "--seeds names every seed"),
    (["train", "--seeds", "0,1", "--seed", "3"], "--seeds names every seed"),
    (["edit", "clips", "--from", "", "-m", "x"], "is a folder"),
    (["ingest", "manifest", "x" * 300], "file name too long"),
    (["export", "clips", "-o", "x" * 300], "file name too long"),
    (["show", "clips", "--frobnicate"], "no such option"),
    (["nosuchcommand"], "no such command"),
])
def test_mistakes_are_one_line_and_write_nothing(prebuilt, ws_dir, args, needle):
    ws = Workspace.open(ws_dir)
    first = ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"][0].as_py()
    args = [first if a == FIRST_CLIP else a.replace("@data", str(prebuilt / "data")) for a in args]
    before = snapshot(ws_dir)
    data_before = snapshot(prebuilt / "data")
    assert_one_line_error(curate("-w", ws_dir, *args), needle)
    assert snapshot(ws_dir) == before and snapshot(prebuilt / "data") == data_before
    assert not (ws_dir.parent / "evil").exists()


def test_edit_file_errors_name_their_line(ws_dir, tmp_path):
    ws = Workspace.open(ws_dir)
    first = ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"][0].as_py()
    cases = {"id,action,value\n" + f"{first},weight,0.5\nnope:1,delete,\n": "line 3: unknown id 'nope:1'",
             "id,action,value\n" + f"{first},weight,-2\n": "line 2: weight",
             "id,action,value\n" + f"{first},label,zebra\n": "line 2: unknown label",
             "id,level,action,value\n" + "nosuchvideo,video,delete,\n": "line 2: unknown video"}
    before = snapshot(ws_dir)
    for text, needle in cases.items():
        path = tmp_path / "edits.csv"
        path.write_text(text)
        assert_one_line_error(curate("-w", ws_dir, "edit", "clips", "--from", path, "-m", "x"), needle)
    assert snapshot(ws_dir) == before


def test_conflicting_operations_on_one_id_are_refused_naming_both(ws_dir, tmp_path):
    ws = Workspace.open(ws_dir)
    clips = ws.tables.read(ws.resolve("clips"), ["clip_id", "video_id"]).to_pylist()
    first, video = clips[0]["clip_id"], clips[0]["video_id"]
    head = "id,level,action,value\n"
    cases = {f"{first},clip,weight,0.5\n{first},clip,delete,\n": f"line 3: delete of {first} conflicts with weight 0.5",
             f"{first},clip,delete,\n{first},clip,label,normal\n": "line 3: label normal of",
             f"{video},video,weight,0\n{first},clip,weight,0.5\n": "line 3: weight 0.5 of",
             f"{first},clip,label,normal\n{first},clip,label,collision\n": "conflicts with label normal"}
    before = snapshot(ws_dir)
    for text, needle in cases.items():
        (tmp_path / "edits.csv").write_text(head + text)
        line = assert_one_line_error(curate("-w", ws_dir, "edit", "clips", "--from", tmp_path / "edits.csv", "-m",
                                            "x"), needle)
        assert "line 2" in line  # where the other operation came from
    assert snapshot(ws_dir) == before
    fine = f"{first},clip,weight,0.5\n{first},clip,label,collision\n{first},clip,weight,0.5\n{video},video,weight,0.5\n"
    (tmp_path / "edits.csv").write_text(head + fine)  # weight with label, and the same weight again, agree
    assert curate("-w", ws_dir, "edit", "clips", "--from", tmp_path / "edits.csv", "-m", "ok").returncode == 0


def test_broken_metadata_is_one_line(ws_dir):
    marker = ws_dir / "tables" / "nexar" / "clips" / "revisions" / "000001.json"
    marker.write_text("")
    assert_one_line_error(curate("-w", ws_dir, "log", "clips"), "000001.json is empty")
    (ws_dir / "curate.json").write_text("{not json")
    assert_one_line_error(curate("-w", ws_dir, "tables"), "curate.json is not valid JSON")


def test_show_csv_output_feeds_back_as_an_id_file(ws_dir, tmp_path):
    shown = curate("-w", ws_dir, "show", "clips", "--where", "label == 1", "--columns", "clip_id,label", "--csv",
                   "-n", "3")
    (tmp_path / "ids.csv").write_text(shown.stdout)
    proc = curate("-w", ws_dir, "edit", "clips", "--weight", "0.5", "--ids", f"@{tmp_path / 'ids.csv'}", "-m", "x")
    assert proc.returncode == 0 and "reweighted 3" in proc.stdout, proc.stderr


def test_revert_to_the_head_writes_nothing(ws_dir):
    before = snapshot(ws_dir)
    proc = curate("-w", ws_dir, "revert", "clips@1")
    assert proc.returncode == 0 and "already the head" in proc.stdout
    assert snapshot(ws_dir) == before


def test_a_run_that_cannot_start_leaves_no_folder(ws_dir):
    assert curate("-w", ws_dir, "edit", "clips", "--delete", "--where", "split == 'train'", "-m", "x").returncode == 0
    assert_one_line_error(curate("-w", ws_dir, "train", "--model", "mvit_tiny", "--weights", "none"),
                          "no training clips")
    assert not (ws_dir / "runs").exists() or not list((ws_dir / "runs").iterdir())


@pytest.mark.slow
def test_a_marker_write_killed_before_its_link_leaves_the_head_and_no_tmp(ws_dir):
    from curation.tables.content import fingerprint

    ws = Workspace.open(ws_dir)
    first = ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"][0].as_py()
    killed = curate_subprocess("-w", ws_dir, "edit", "clips", "--delete", first, "-m", "x",
                               env={"CURATE_FAULT": "fsutil.before_link"})
    assert killed.returncode == -9  # inside the commit window: Lance committed, the marker not yet linked
    revisions = ws_dir / "tables" / "nexar" / "clips" / "revisions"
    assert list(revisions.glob(".*.tmp")) and ws.resolve("clips").number == 1
    assert first in ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"].to_pylist()
    assert curate("-w", ws_dir, "edit", "clips", "--weight", "0.5", "--ids", first, "-m", "y").returncode == 0
    head = ws.resolve("clips")
    table = ws.tables.read(head)
    assert head.number == 2 and table.num_rows == head.rows and fingerprint(table, ws.tables.spec("nexar", "clips")) \
        == head.fingerprint and not list(revisions.glob(".*.tmp"))


def _without_file_capabilities():
    """A prefix that runs a command as this user without root's power to ignore file permissions."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("needs setpriv to drop root's file capabilities")
    return ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"]


def test_a_read_only_workspace_is_one_line_and_unchanged(ws_dir):
    import subprocess
    import sys
    from pathlib import Path

    ws = Workspace.open(ws_dir)
    first = ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"][0].as_py()
    for p in [ws_dir, *ws_dir.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        before = snapshot(ws_dir)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
        for args in (["edit", "clips", "--delete", first, "-m", "x"], ["tag", "clips@1", "mine"]):
            proc = subprocess.run([*_without_file_capabilities(), sys.executable, "-m", "curation.cli", "-w",
                                   str(ws_dir), *args], capture_output=True, text=True, env=env)
            assert_one_line_error(proc, "permission denied")
        assert snapshot(ws_dir) == before
    finally:
        for p in [ws_dir, *ws_dir.rglob("*")]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


def test_metadata_files_follow_the_umask(prebuilt, tmp_path):
    old = os.umask(0o022)
    try:
        ws = tmp_path / "ws"
        assert curate("-w", ws, "ingest", "nexar", prebuilt / "data", "--frame-size", "32").returncode == 0
    finally:
        os.umask(old)
    for path in [ws / "curate.json", *ws.glob("tables/nexar/*/revisions/*.json"), *ws.glob("tables/nexar/*/table.json")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert json.loads((ws / "curate.json").read_text())["dataset"] == "nexar"


def _write_video(path, frames: int, fps: int = 10, size=(64, 48)):
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            image = np.full((size[1], size[0], 3), (i * 7) % 255, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())


def _write_audio_only(path):
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=8000)
        for k in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, k * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


@pytest.mark.parametrize("train_csv, needle", [
    ("id,time_of_event,time_of_alert,target\n00001,2.0,3.0,1\n", "line 2: video 00001 has its alert (3 s) after"),
    ("id,time_of_event,time_of_alert,target\n", "has no rows"),
])
def test_impossible_nexar_files_are_refused(tmp_path, train_csv, needle):
    root = tmp_path / "d"
    (root / "train").mkdir(parents=True)
    (root / "train.csv").write_text(train_csv)
    _write_video(root / "train" / "00001.mp4", 40)
    assert_one_line_error(curate("-w", tmp_path / "ws", "ingest", "nexar", root), needle)
    assert not (tmp_path / "ws").exists()


def test_labels_or_videos_that_do_not_fit_get_a_status_with_the_reason(tmp_path):
    root = tmp_path / "d"
    (root / "train").mkdir(parents=True)
    rows = {"00001": (40, "2.0,1.0,1"), "00002": (40, "100.0,99.0,1"), "00003": (40, ",,0"),
            "00004": (1, ",,0"), "00005": (5, ",,0"), "00006": (40, "3.0,1.0,1"), "00007": (40, ",,0")}
    for vid, (frames, _) in rows.items():
        _write_video(root / "train" / f"{vid}.mp4", frames)
    _write_audio_only(root / "train" / "00008.mp4")
    (root / "train.csv").write_text("id,time_of_event,time_of_alert,target\n"
                                    + "".join(f"{v},{t}\n" for v, (_, t) in rows.items()) + "00008,,,0\n")
    proc = curate("-w", tmp_path / "ws", "ingest", "nexar", root, "--clip-frames", "8", "--clip-seconds", "1")
    assert proc.returncode == 0, proc.stderr
    videos = {v["video_id"]: v for v in Workspace.open(tmp_path / "ws").tables.read(
        Workspace.open(tmp_path / "ws").resolve("videos")).to_pylist()}
    assert videos["00002"]["status"] == "invalid" and "after the video's end" in videos["00002"]["status_reason"]
    assert videos["00008"]["status"] == "unsupported" and videos["00008"]["status_reason"] == \
        "no video stream (audio only)"
    assert videos["00004"]["status"] == "unsupported" and videos["00004"]["status_reason"] == \
        "a single frame, not a video"
    assert videos["00005"]["status"] == "ok"  # 5 frames: its clips repeat the first frame, with a warning
    assert videos["00005"]["status_reason"] == "5 frames, shorter than one clip (8 frames spanning 8): its clips " \
                                               "repeat the first frame"
    assert "warning     00005: 5 frames" in proc.stdout
    for vid in ("00001", "00003", "00006", "00007"):
        assert videos[vid]["status"] == "ok", videos[vid]
    clips = Workspace.open(tmp_path / "ws").tables.read(Workspace.open(tmp_path / "ws").resolve("clips"))
    assert set(clips["video_id"].to_pylist()) == {"00001", "00003", "00005", "00006", "00007"}
    assert "invalid" in proc.stdout and "00002" in proc.stdout  # listed in the summary


def test_manifest_rows_that_do_not_fit(tmp_path):
    root = tmp_path / "m"
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        _write_video(root / cls / "v.mp4", 40)
    (root / "bad.csv").write_text("path,label\na/v.mp4,a\n,b\n")
    assert_one_line_error(curate("-w", tmp_path / "ws", "ingest", "manifest", root / "bad.csv"), "line 3: empty path")
    (root / "list.csv").write_text("path,label,split,start_s,end_s\na/v.mp4,a,,,\nb/v.mp4,b,,10,12\n"
                                   "a/v.mp4,b,,0.5,3.5\na/v.mp4,a,,1.0,1.3\n")
    proc = curate("-w", tmp_path / "ws", "ingest", "manifest", root / "list.csv", "--clip-frames", "8",
                  "--clip-seconds", "1")
    assert proc.returncode == 0, proc.stderr
    ws = Workspace.open(tmp_path / "ws")
    videos = {v["video_id"]: v for v in ws.tables.read(ws.resolve("videos")).to_pylist()}
    late = next(v for v in videos.values() if v["start_s"] == 10)
    assert late["status"] == "invalid" and "starts at 10 s, after the video's end" in late["status_reason"]
    short = next(v for v in videos.values() if v["start_s"] == 1.0)  # a class segment shorter than a clip
    assert short["status"] == "unsupported" and "shorter than one clip" in short["status_reason"]
    for clip in ws.tables.read(ws.resolve("clips")).to_pylist():  # every clip lies inside its video or segment
        video = videos[clip["video_id"]]
        start = clip["end_frame"] - (clip["n_frames"] - 1) * clip["stride"]
        assert 0 <= start and clip["end_frame"] < video["n_frames"]
        if video["end_s"] is not None:
            assert clip["end_frame"] < video["end_s"] * video["fps"]


def test_resume_refuses_settings_it_does_not_know(ws_dir):
    from curation.train.config import TrainConfig

    run = ws_dir / "runs" / "run-0001"
    run.mkdir(parents=True)
    inputs = {"dataset": "nexar", "table": "clips", "revision": 1, "ref": "nexar/clips@1", "fingerprint": "x"}
    (run / "run.json").write_text(json.dumps({"run": "run-0001", "status": "failed", "inputs": inputs,
                                              "config": {**TrainConfig().to_dict(), "mixup": 0.2}}))
    before = snapshot(ws_dir)
    assert_one_line_error(curate("-w", ws_dir, "train", "--resume", "run-0001"),
                          "unknown training setting(s): mixup")
    assert snapshot(ws_dir) == before


def test_evaluating_unlabelled_clips_records_null_with_the_reason(reviewed_ws):
    import json

    proc = curate("-w", reviewed_ws, "evaluate", "--table", "test@1", "--split", "test")
    assert proc.returncode == 0, proc.stderr
    assert "no metrics: the test clips have no labels" in proc.stdout
    record = next((reviewed_ws / "runs").glob("*/run.json")).read_text()
    evaluation = json.loads(record, parse_constant=lambda c: pytest.fail(f"{c} in run.json"))["evaluations"]
    assert evaluation["test@1:test"]["metrics"] is None and evaluation["test@1:test"]["clips"] > 0


def test_a_loss_that_is_not_a_number_stops_the_run_in_one_line(ws_dir, monkeypatch):
    """A diverged run (here: logits made NaN, as a far too high learning rate or an unlabelled sample makes them)
    stops at once, is marked failed and says why in one line with exit 1 (the run failed; the input was fine);
    so does a smoke run."""
    import curation.train.loop as loop

    real = loop.sample_outputs
    monkeypatch.setattr(loop, "sample_outputs", lambda logits, *a: real(logits * float("nan"), *a))
    tiny = ("--model", "mvit_tiny", "--weights", "none", "--workers", "0", "--batch-size", "2")
    assert_one_line_error(curate("-w", ws_dir, "train", *tiny, "--epochs", "1", "--draws", "8"),
                          "step 1: the training loss is nan", code=1)
    runs = Workspace.open(ws_dir).runs
    assert runs.record(runs.resolve("last")).status == "failed"
    assert_one_line_error(curate("-w", ws_dir, "train", "--smoke", *tiny), "the training loss is nan", code=1)
    assert_one_line_error(curate("-w", ws_dir, "train", "--lr", "1e39"), "lr")


def test_names_longer_than_a_file_name_allows_are_one_line(ws_dir):
    long = "x" * 300
    before = snapshot(ws_dir)
    for args, needle in ((("show", long), "longer than 100"), (("show", f"clips@{long}"), "longer than 100"),
                         (("tag", "clips@1", long), "invalid tag name"), (("report", "--run", long), "run"),
                         (("train", "--name", long, "--model", "mvit_tiny", "--weights", "none"), "invalid run name")):
        assert_one_line_error(curate("-w", ws_dir, *args), needle)
    assert snapshot(ws_dir) == before


def _imported_run(ws, table: str, name: str) -> str:
    """A run of made-up predictions for every clip of `table` (a second run to compare, in no time)."""
    from curation.review.imported import import_predictions

    ids = ws.tables.read(ws.resolve(table), ["clip_id"])["clip_id"].to_pylist()
    predictions = ws.root / f"{name}.csv"
    predictions.write_text("id,pred,prob\n" + "".join(f"{i},normal,0.9\n" for i in ids))
    return import_predictions(ws, name, predictions, table)


def test_the_wrong_kind_of_table_is_named_with_the_tables_that_would_do(reviewed_ws, tmp_path):
    external = _imported_run(Workspace.open(reviewed_ws), "clips", "ext")
    predictions = tmp_path / "p.csv"
    predictions.write_text("id,pred,prob\nx,0,0.5\n")
    before = snapshot(reviewed_ws)
    for args, needle in ((("evaluate", "--run", "1", "--table", "videos@1"), "is a videos table; evaluate"),
                         (("compare", "run-0001", external, "--on", "frames@1"), "is a frames table; a comparison"),
                         (("import-predictions", "x", predictions, "--table", "test@1"), "imported for the samples")):
        line = assert_one_line_error(curate("-w", reviewed_ws, *args), needle)
        assert "give nexar/clips" in line
    assert snapshot(reviewed_ws) == before


def test_runs_of_different_datasets_are_compared_only_on_named_clips(reviewed_ws, prebuilt):
    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar

    ws = Workspace.open(reviewed_ws)
    ingest(ws, read_nexar(prebuilt / "data"), "other", IngestOptions(frame_size=32), progress=False)
    other = _imported_run(ws, "other/clips", "ext")
    assert_one_line_error(curate("-w", reviewed_ws, "compare", "run-0001", other),
                          "these runs trained on different datasets (nexar and other)")
