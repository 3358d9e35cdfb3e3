"""Every layout end to end through the real command: ingest → train → suggest → edit → retrain → evaluate."""
import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_one_line_error, curate
from curation.workspace import Workspace

TINY = ["--model", "mvit_tiny", "--weights", "none", "--epochs", "1", "--workers", "0", "--batch-size", "4"]
CLASSES = ["drive", "brake", "turn"]


def _class_folders(prebuilt, root, per_class: int = 4):
    """UCF50-style folders (v_<class>_gNN_c01.mp4) made of the prebuilt dataset's videos."""
    videos = sorted((prebuilt / "data" / "train").glob("*.mp4")) + sorted((prebuilt / "data" / "test").glob("*.mp4"))
    for i in range(per_class * len(CLASSES)):
        name = CLASSES[i % len(CLASSES)]
        (root / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(videos[i % len(videos)], root / name / f"v_{name}_g{i // len(CLASSES):02d}_c01.mp4")
    return root


@pytest.mark.slow
def test_class_folders_with_a_test_split_through_the_loop_and_evaluate(prebuilt, tmp_path):
    ws_dir = tmp_path / "ws"
    data = _class_folders(prebuilt, tmp_path / "ucf")
    proc = curate("-w", ws_dir, "ingest", "folders", data, "--split", "0.5,0.25,0.25", "--frame-size", "32")
    assert proc.returncode == 0, proc.stderr
    ws = Workspace.open(ws_dir)
    videos = ws.tables.read(ws.resolve("videos")).to_pylist()
    for label in range(len(CLASSES)):  # 4 groups per class: 2 train, 1 val, 1 test, never split apart
        splits = sorted(v["split"] for v in videos if v["label"] == label)
        assert splits == ["test", "train", "train", "val"], splits
    assert curate("-w", ws_dir, "train", *TINY).returncode == 0
    edits = tmp_path / "edits.csv"
    suggested = curate("-w", ws_dir, "suggest", "-o", edits)
    assert suggested.returncode == 0, suggested.stderr
    train_video = next(v["video_id"] for v in videos if v["split"] == "train")
    with open(edits, "a", newline="") as f:  # the reviewed file: the proposals plus one decision of our own
        csv.writer(f).writerow([train_video, "video", "weight", "0", "label issue", "reviewed by hand", "1"])
    edited = curate("-w", ws_dir, "edit", "clips", "--from", edits, "-m", "review")
    assert edited.returncode == 0 and "clips@2" in edited.stdout, edited.stderr
    assert curate("-w", ws_dir, "train", "--table", "latest", *TINY).returncode == 0
    run = Workspace.open(ws_dir).runs.resolve("last")
    assert Workspace.open(ws_dir).runs.record(run).inputs.ref == "ucf/clips@2"

    proc = curate("-w", ws_dir, "evaluate", "--split", "test", "--batch-size", "2")
    assert proc.returncode == 0, proc.stderr
    assert "(test split" in proc.stdout and "ms/clip at batch 2 on cpu" in proc.stdout
    assert "macro-F1" in proc.stdout and all(c in proc.stdout for c in CLASSES)
    evaluation = Workspace.open(ws_dir).runs.record(run).evaluations["clips@2:test"]
    confusion = np.array(evaluation["metrics"]["confusion"])
    test_clips = [c for c in Workspace.open(ws_dir).tables.read(Workspace.open(ws_dir).resolve("clips@2"))
                  .to_pylist() if c["split"] == "test"]
    assert confusion.shape == (3, 3) and confusion.sum() == evaluation["clips"] == len(test_clips)
    assert confusion.sum(axis=1).tolist() == [sum(c["label"] == k for c in test_clips) for k in range(3)]
    assert evaluation["metrics"]["accuracy"] == np.trace(confusion) / confusion.sum()
    assert evaluation["batch_size"] == 2 and evaluation["ms_per_clip"] > 0
    assert_one_line_error(curate("-w", ws_dir, "evaluate", "--split", "holdout"), "has no holdout clips")
    assert_one_line_error(curate("-w", ws_dir, "submit", "-o", tmp_path / "s.csv"), "has no test table")


def test_split_shares_are_checked_before_anything_is_written(prebuilt, tmp_path):
    data = _class_folders(prebuilt, tmp_path / "ucf", per_class=2)
    for shares in ("0.5,0.5", "0.7,0.2,0.2", "a,b,c", "0,0.5,0.5"):
        assert_one_line_error(curate("-w", tmp_path / "ws", "ingest", "folders", data, "--split", shares),
                              "three shares adding up to 1")
    assert_one_line_error(curate("-w", tmp_path / "ws", "ingest", "nexar", prebuilt / "data", "--split",
                                 "0.7,0.15,0.15"), "has its own test videos")
    assert not (tmp_path / "ws").exists()


def _qa_files(prebuilt, root):
    """A RoadBuddy-style QA file over the prebuilt videos (copied next to it) and a test file without answers."""
    import json

    (root / "videos").mkdir(parents=True)
    for video in sorted((prebuilt / "data" / "train").glob("*.mp4"))[:4]:
        shutil.copy(video, root / "videos" / video.name)
    names = sorted(p.name for p in (root / "videos").iterdir())
    choices = ["A. go straight", "B. turn left", "C. stop", "D. turn right"]
    data = [{"id": f"q{k:02d}", "question": f"What does the driver do next? ({k})", "choices": choices,
             "answer": choices[k % 4], "support_frames": [1.0 + 0.25 * (k % 3)] if k % 5 else [],
             "video_path": f"videos/{names[k % len(names)]}"} for k in range(10)]
    test = [{"id": f"t{k}", "question": "Is it safe to turn?", "choices": choices[:2], "support_frames": [2.0],
             "video_path": f"videos/{names[k]}"} for k in range(2)]
    (root / "qa.json").write_text(json.dumps({"data": data}))
    (root / "qa-test.json").write_text(json.dumps({"data": test}))
    return data


@pytest.mark.slow
def test_video_qa_through_import_predictions_edit_and_export_round_trip(prebuilt, tmp_path):
    import json

    ws_dir, data = tmp_path / "ws", tmp_path / "qa"
    questions = _qa_files(prebuilt, data)
    proc = curate("-w", ws_dir, "ingest", "qa", data / "qa.json", "--test", data / "qa-test.json",
                  "--frame-size", "32", "--clip-frames", "8")
    assert proc.returncode == 0, proc.stderr
    ws = Workspace.open(ws_dir)
    clips = {c["clip_id"]: c for c in ws.tables.read(ws.resolve("clips")).to_pylist()}
    videos = {v["video_id"]: v for v in ws.tables.read(ws.resolve("videos")).to_pylist()}
    assert sorted(clips) == sorted([q["id"] for q in questions] + ["t0", "t1"])  # one sample per question
    for q in questions:  # the answer's letter is the label; the clip spans the support frames ± 0.5 s
        clip, fps = clips[q["id"]], videos[q["id"]]["fps"]
        assert clip["label"] == "ABCD".index(q["answer"][0]) and clip["question"] == q["question"]
        assert json.loads(clip["choices"]) == q["choices"] and clip["n_frames"] == 8
        first = clip["end_frame"] - 7 * clip["stride"]
        if q["support_frames"]:
            t = q["support_frames"][0]
            assert (t - 0.5) * fps - 1 <= first and clip["end_frame"] <= (t + 0.5) * fps + 1
        else:  # the whole video, evenly
            assert first <= 1 and clip["end_frame"] >= videos[q["id"]]["n_frames"] - clip["stride"] - 1
    assert clips["t0"]["split"] == "test" and clips["t0"]["label"] is None
    assert_one_line_error(curate("-w", ws_dir, "train", *TINY), "clips have [8] frames; mvit_tiny takes 16")

    predictions = tmp_path / "preds.csv"  # an external model: right on even questions, confidently wrong on odd
    predictions.write_text("id,pred,prob\n" + "".join(
        f"{q['id']},{q['answer'][0] if k % 2 == 0 else 'ABCD'[(k + 1) % 4]},0.9\n" for k, q in enumerate(questions)))
    proc = curate("-w", ws_dir, "import-predictions", "vlm", predictions)
    assert proc.returncode == 0 and "10 predictions" in proc.stdout and "accuracy 0.5000" in proc.stdout
    shown = curate("-w", ws_dir, "show", "clips", "--run", "last", "--where", "margin < 0", "--csv", "-n", "0",
                   "--columns", "clip_id,loss,margin")
    assert sorted(r["clip_id"] for r in csv.DictReader(shown.stdout.splitlines())) == \
        [q["id"] for k, q in enumerate(questions) if k % 2]
    assert curate("-w", ws_dir, "suggest", "--run", "last", "-o", tmp_path / "s.csv").returncode == 0
    for bad, needle in (("nope,A,0.5", "line 2: unknown id 'nope'"), ("q00,E,0.5", "'E' is not one of A, B, C, D"),
                        ("q00,A,1.5", "prob '1.5' is not a number in [0, 1]"),
                        ("q00,A,0.5\nq01,B,0.5\nq00,B,0.5", "more than one prediction for 1 id(s): q00")):
        (tmp_path / "bad.csv").write_text(f"id,pred,prob\n{bad}\n")
        assert_one_line_error(curate("-w", ws_dir, "import-predictions", "bad", tmp_path / "bad.csv"), needle)
    assert len(Workspace.open(ws_dir).runs.runs()) == 1  # a rejected file makes no run

    assert curate("-w", ws_dir, "edit", "clips", "--delete", "q03", "-m", "ambiguous").returncode == 0
    assert curate("-w", ws_dir, "edit", "clips", "--label", "C", "--ids", "q01", "-m", "fix").returncode == 0
    proc = curate("-w", ws_dir, "export", "clips@latest", "-o", data / "curated.json")
    assert proc.returncode == 0, proc.stderr
    exported = json.loads((data / "curated.json").read_text())["data"]
    assert "q03" not in {q["id"] for q in exported}
    assert next(q for q in exported if q["id"] == "q01")["answer"] == "C. stop"
    assert "answer" not in json.loads((data / "curated-test.json").read_text())["data"][0]

    proc = curate("-w", ws_dir, "ingest", "qa", data / "curated.json", "--test", data / "curated-test.json",
                  "--name", "again", "--frame-size", "32", "--clip-frames", "8")
    assert proc.returncode == 0, proc.stderr
    ws = Workspace.open(ws_dir)
    columns = ["clip_id", "label", "question", "choices", "support_frames", "video_path", "end_frame", "stride"]
    curated = ws.tables.read(ws.resolve("qa/clips@latest"), columns).sort_by("clip_id")
    again = ws.tables.read(ws.resolve("again/clips@latest"), columns).sort_by("clip_id")
    assert again.equals(curated)  # the export re-ingests to the curated revision's content


@pytest.mark.slow
def test_event_timestamps_with_windows_caps_groups_and_a_samples_page(prebuilt, tmp_path):
    import json
    import math

    data = tmp_path / "runs"
    (data / "gopro").mkdir(parents=True)
    videos = sorted((prebuilt / "data" / "train").glob("*.mp4"))[:6]
    events = {0: [1.0, 2.5], 1: [2.0], 2: [], 3: [1.5, 3.0], 4: [0.8, 1.6, 3.2], 5: []}
    lines = ["path,group,event_s"]
    for k, video in enumerate(videos):
        shutil.copy(video, data / "gopro" / f"run{k}.mp4")
        lines += [f"gopro/run{k}.mp4,track{k // 2},{t}" for t in events[k]] or [f"gopro/run{k}.mp4,track{k // 2},"]
    (data / "events.csv").write_text("\n".join(lines) + "\n")
    ws_dir = tmp_path / "ws"
    proc = curate("-w", ws_dir, "ingest", "events", data / "events.csv", "--frame-size", "32",
                  "--clip-seconds", "1", "--alpha", "0.2", "--beta", "0.2", "--negatives-per-positive", "2")
    assert proc.returncode == 0, proc.stderr
    ws = Workspace.open(ws_dir)
    videos_table = {v["video_id"]: v for v in ws.tables.read(ws.resolve("events/videos")).to_pylist()}
    clips = ws.tables.read(ws.resolve("events/clips")).to_pylist()
    for k in range(6):
        vid, times = f"gopro/run{k}", events[k]
        video = videos_table[vid]
        assert json.loads(video["events"]) == times
        bounds = [0.0, *times, video["duration_s"]]
        windows = [(e - 0.2 * (e - a), e + 0.2 * (b - e)) for a, e, b in zip(bounds, bounds[1:], bounds[2:])]
        mine = [c for c in clips if c["video_id"] == vid]
        positives, negatives = [c for c in mine if c["label"] == 1], [c for c in mine if c["label"] == 0]
        for c in positives:
            assert any(lo - 1e-3 <= c["end_time_s"] <= hi + 1e-3 for lo, hi in windows), (vid, c["end_time_s"])
        for e in times:  # a clip ends at every event
            assert any(abs(c["end_time_s"] - e) <= 1 / video["fps"] for c in positives), (vid, e)
        for c in negatives:  # away from every event: outside twice its window
            assert all(not (e - 0.4 * (e - a) <= c["end_time_s"] <= e + 0.4 * (b - e))
                       for a, e, b in zip(bounds, bounds[1:], bounds[2:])), (vid, c["end_time_s"])
        assert 0 < len(negatives) <= math.ceil(2 * max(1, len(positives)))
    splits = {}
    for v in videos_table.values():  # a track never straddles splits
        splits.setdefault(v["video_id"], v["split"])
    for group in range(3):
        assert len({splits[f"gopro/run{k}"] for k in (2 * group, 2 * group + 1)}) == 1

    page = curate("-w", ws_dir, "report", "--table", "events/clips@1")
    assert page.returncode == 0, page.stderr
    text = (ws_dir / "reports" / "events-clips@1.html").read_text()
    assert all(f"gopro/run{k}" in text for k in range(6)) and text.count("<svg") == 6
    assert "<img src=\"data:image/png" in text and "background (" in text and "event (" in text

    assert curate("-w", ws_dir, "train", *TINY).returncode == 0
    assert curate("-w", ws_dir, "suggest", "-o", tmp_path / "s.csv").returncode == 0
    assert curate("-w", ws_dir, "edit", "clips", "--weight", "0", "--where", "abs(time_to_event_s) > 1.5",
                  "-m", "far from any event").returncode == 0
    assert curate("-w", ws_dir, "train", "--table", "latest", *TINY).returncode == 0
    proc = curate("-w", ws_dir, "evaluate", "--split", "val")
    assert proc.returncode == 0 and "accuracy" in proc.stdout, proc.stderr


@pytest.mark.slow
def test_export_nexar_and_manifest_layouts(ws_dir, prebuilt, tmp_path):
    ws = Workspace.open(ws_dir)
    clips = ws.tables.read(ws.resolve("clips")).to_pylist()
    gone = sorted({c["video_id"] for c in clips})[0]
    deleted = curate("-w", ws_dir, "edit", "clips", "--delete", "--where", f"video_id == '{gone}'", "-m", "x")
    assert deleted.returncode == 0
    proc = curate("-w", ws_dir, "export", "clips@latest", "-o", tmp_path / "train.csv")
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "train.csv") as f:
        exported = list(csv.DictReader(f))
    with open(prebuilt / "data" / "train.csv") as f:
        source = {r["id"]: r for r in csv.DictReader(f)}
    kept = {c["video_id"] for c in clips} - {gone}
    assert sorted(r["id"] for r in exported) == sorted(kept)
    for r in exported:  # the source's own rows, times and targets
        assert r["target"] == source[r["id"]]["target"]
        for column in ("time_of_event", "time_of_alert"):
            assert (r[column] == "") == (source[r["id"]][column] == "")
            if r[column]:
                assert float(r[column]) == pytest.approx(float(source[r["id"]][column]), abs=1e-4)
    assert_one_line_error(curate("-w", ws_dir, "export", "clips", "--format", "qa-json", "-o", tmp_path / "x"),
                          "cannot be written as qa-json")
    assert_one_line_error(curate("-w", ws_dir, "export", "videos", "-o", tmp_path / "x"), "not the samples table")

    data = _class_folders(prebuilt, tmp_path / "ucf", per_class=2)
    folders = tmp_path / "ws2"
    assert curate("-w", folders, "ingest", "folders", data, "--frame-size", "32").returncode == 0
    ws2 = Workspace.open(folders)
    first = sorted(c["video_id"] for c in ws2.tables.read(ws2.resolve("clips")).to_pylist())[0]
    assert curate("-w", folders, "edit", "clips", "--label", "turn", "--where", f"video_id == '{first}'",
                  "-m", "relabel").returncode == 0
    line = assert_one_line_error(curate("-w", folders, "export", "clips", "--format", "nexar-csv", "-o",
                                        tmp_path / "x"), "cannot be written as nexar-csv")
    # the formats it can take, each named once
    assert line.endswith("use one of fiftyone, folders, hf, kinetics-csv, manifest-csv")
    assert curate("-w", folders, "export", "clips", "-o", data / "curated.csv").returncode == 0
    assert curate("-w", folders, "ingest", "manifest", data / "curated.csv", "--name", "again",
                  "--frame-size", "32").returncode == 0
    ws2 = Workspace.open(folders)
    columns = ["clip_id", "label", "split"]
    curated = ws2.tables.read(ws2.resolve("ucf/clips"), columns).sort_by("clip_id").to_pylist()
    again = ws2.tables.read(ws2.resolve("again/clips"), columns).sort_by("clip_id").to_pylist()
    names = lambda rows, classes: [(r["clip_id"], classes[r["label"]], r["split"]) for r in rows]
    assert names(again, ws2.task("again").classes) == names(curated, ws2.task("ucf").classes)


@pytest.mark.parametrize("content, needle", [
    ('{"data": 3}', "is not a QA file"),
    ('[1, 2]', "is not a QA file"),
    ('{"data": [{"id": "q", "question": "?", "choices": ["A. x"], "answer": "A. x", "video_path": "v.mp4", '
     '"support_frames": [[1]]}]}', "question 1: support frame [1] is not a number"),
    ('{"data": [{"id": "q", "question": "?", "choices": ["A. x"], "answer": "A. x", "video_path": "v.mp4", '
     '"support_frames": 4.4}]}', "support_frames 4.4 is not a list of seconds"),
    ('{"data": [{"id": "q", "question": "?", "choices": ["A. x"], "answer": "C. y", "video_path": "v.mp4"}]}',
     "answer 'C. y' is not one of its 1 choices"),
])
def test_malformed_qa_files_are_one_line_and_write_nothing(tmp_path, content, needle):
    (tmp_path / "qa.json").write_text(content)
    assert_one_line_error(curate("-w", tmp_path / "ws", "ingest", "qa", tmp_path / "qa.json"), needle)
    assert not (tmp_path / "ws").exists()


def _nexar_source(prebuilt, root):
    """A copy of the prebuilt Nexar layout (train.csv and the videos, linked)."""
    root.mkdir()
    shutil.copy(prebuilt / "data" / "train.csv", root / "train.csv")
    for split in ("train", "test"):
        (root / split).symlink_to(prebuilt / "data" / split)
    return root / "train.csv"


def _videos_with_csv(prebuilt, root, stem: str, count: int, csv_name: str, header: str, rows) -> Path:
    """`count` prebuilt videos copied to root/<stem>k.mp4 and a CSV of `rows(k, path)` lines per video."""
    (root / Path(stem).parent).mkdir(parents=True)
    lines = [header]
    for k, video in enumerate(sorted((prebuilt / "data" / "train").glob("*.mp4"))[:count]):
        shutil.copy(video, root / f"{stem}{k}.mp4")
        lines += rows(k, f"{stem}{k}.mp4")
    (root / csv_name).write_text("\n".join(lines) + "\n")
    return root / csv_name


def _events_source(prebuilt, root):
    times = {0: [1.0, 2.5], 1: [2.0], 3: [1.5, 3.0], 4: [0.8, 1.6]}
    return _videos_with_csv(prebuilt, root, "gopro/run", 6, "events.csv", "path,group,event_s",
                            lambda k, path: [f"{path},track{k // 2},{t}" for t in times.get(k, [""])])


def _manifest_source(prebuilt, root):
    return _videos_with_csv(prebuilt, root, "clips/v", 4, "list.csv", "path,label,split,start_s,end_s",
                            lambda k, path: [f"{path},walk,,0,2", f"{path},run,{'val' if k == 3 else ''},2,4"])


@pytest.mark.parametrize("layout, make, kept_splits", [("nexar", _nexar_source, False),
                                                       ("events", _events_source, True),
                                                       ("manifest", _manifest_source, True)])
def test_export_then_ingest_gives_the_curated_samples_labels_and_times(prebuilt, tmp_path, layout, make, kept_splits):
    """Deleted videos stay gone, and what the format holds (labels, event times, groups, segments, splits) comes
    back; a clip relabel that a video-level format cannot hold is named in a note."""
    source = make(prebuilt, tmp_path / "data")
    ws_dir = tmp_path / "ws"
    given = source.parent if layout == "nexar" else source  # Nexar is ingested by its folder
    options = ("--frame-size", "32", "--clip-frames", "8", "--clip-seconds", "1")
    assert curate("-w", ws_dir, "ingest", layout, given, "--name", "src", *options).returncode == 0
    ws = Workspace.open(ws_dir)
    clips = ws.tables.read(ws.resolve("src/clips")).sort_by("clip_id").to_pylist()
    gone = sorted({c["video_id"] for c in clips})[0]
    assert curate("-w", ws_dir, "edit", "src/clips", "--delete", "--where", f"video_id == '{gone}'",
                  "-m", "drop a video").returncode == 0
    relabeled = next(c for c in clips if c["video_id"] != gone)
    assert sum(c["video_id"] == relabeled["video_id"] for c in clips) >= 3  # one clip cannot outvote its video
    assert curate("-w", ws_dir, "edit", "src/clips", "--label", str(1 - relabeled["label"]), "--ids",
                  relabeled["clip_id"], "-m", "relabel one clip").returncode == 0
    if layout == "nexar":  # the curated train.csv beside the same videos
        out = _nexar_source(prebuilt, tmp_path / "curated")
    else:
        out = source.with_name(f"curated{source.suffix}")
    proc = curate("-w", ws_dir, "export", "src/clips@latest", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert f"note: the label of 1 clip(s) ({relabeled['clip_id']}) is not in the file" in proc.stdout
    assert curate("-w", ws_dir, "ingest", layout, out.parent if layout == "nexar" else out, "--name", "again",
                  *options).returncode == 0

    ws = Workspace.open(ws_dir)
    columns = ["clip_id", "video_id", "label", "end_frame", "split"]
    curated = {c["clip_id"]: c for c in ws.tables.read(ws.resolve("src/clips@latest"), columns).to_pylist()}
    again = {c["clip_id"]: c for c in ws.tables.read(ws.resolve("again/clips"), columns).to_pylist()}
    assert sorted(again) == sorted(curated) and not any(c["video_id"] == gone for c in again.values())
    for clip_id, clip in again.items():
        expected = dict(curated[clip_id])
        if clip_id == relabeled["clip_id"]:
            expected["label"] = relabeled["label"]  # its video's label: the file labels whole videos
        if not kept_splits:
            expected["split"] = clip["split"]  # Nexar's train.csv has no split: re-split at ingest
        assert clip == expected
    video_columns = {"nexar": ["target", "time_of_event", "time_of_alert"], "events": ["events", "group", "split"],
                     "manifest": ["label", "start_s", "end_s", "split"]}[layout]
    before = {v["video_id"]: v for v in ws.tables.read(ws.resolve("src/videos"), ["video_id", *video_columns])
              .to_pylist() if v["video_id"] != gone}
    after = {v["video_id"]: v for v in ws.tables.read(ws.resolve("again/videos"), ["video_id", *video_columns])
             .to_pylist()}
    assert after == before
