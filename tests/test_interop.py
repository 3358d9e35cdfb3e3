"""Interchange formats through the real commands: a curated dataset (a video deleted, one reweighted, one
relabeled) exported as class folders, a Kinetics CSV, a Hugging Face dataset, a FiftyOne dataset and ActivityNet
JSON, read by the consumer's own reader (`datasets`; FiftyOne's importer in an environment of its own, whose
package conflicts with curate's web libraries) and field by field, and ingested back to the same clips, labels,
splits, segments and weights."""
import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import assert_one_line_error, curate, needs_ffmpeg, snapshot
from curation.workspace import Workspace

OPTIONS = ("--frame-size", "32", "--clip-frames", "16", "--clip-seconds", "1")  # 16: what mvit_tiny takes
CLIP_COLUMNS = ["clip_id", "video_id", "label", "split", "weight", "end_frame"]


def _segments_source(prebuilt, root):
    """A manifest of two labelled segments of each of four videos (one given to val)."""
    root.mkdir()
    lines = ["path,label,split,start_s,end_s"]
    for k, video in enumerate(sorted((prebuilt / "data" / "train").glob("*.mp4"))[:4]):
        shutil.copy(video, root / f"v{k}.mp4")
        lines += [f"v{k}.mp4,walk,,0,2", f"v{k}.mp4,run,{'val' if k == 3 else ''},2,4"]
    (root / "list.csv").write_text("\n".join(lines) + "\n")
    return root / "list.csv"


def _folders_source(prebuilt, root):
    """Class folders of whole files: six distinct videos over three classes."""
    videos = sorted((prebuilt / "data" / "train").glob("*.mp4"))[:6]
    for k, video in enumerate(videos):
        (root / ["drive", "brake", "turn"][k % 3]).mkdir(parents=True, exist_ok=True)
        shutil.copy(video, root / ["drive", "brake", "turn"][k % 3] / f"v{k}.mp4")
    return root


def _curated(ws_dir, layout, given) -> Workspace:
    """`given` ingested as src and curated: the first video deleted, the second at weight 0.5, the third
    relabeled (every clip of each, as a video-level format can hold)."""
    assert curate("-w", ws_dir, "ingest", layout, given, "--name", "src", "--split", "0.5,0.25,0.25",
                  *OPTIONS).returncode == 0
    ws = Workspace.open(ws_dir)
    videos = sorted({c["video_id"] for c in ws.tables.read(ws.resolve("src/clips"), ["video_id"]).to_pylist()})
    label = ws.tables.read(ws.resolve("src/clips")).to_pylist()
    third = next(c["label"] for c in label if c["video_id"] == videos[2])
    for args in (["--delete", "--where", f"video_id == '{videos[0]}'"],
                 ["--weight", "0.5", "--where", f"video_id == '{videos[1]}'"],
                 ["--label", str(1 - third), "--where", f"video_id == '{videos[2]}'"]):
        assert curate("-w", ws_dir, "edit", "src/clips", *args, "-m", "curate").returncode == 0
    return Workspace.open(ws_dir)


def _clips(ws, ref, key=lambda clip, video: clip["clip_id"]) -> dict:
    """key → (class name, split, weight, end_frame) of every clip of `ref`, with the video's segment."""
    task = ws.task(ws.resolve(ref).dataset)
    videos = {v["video_id"]: v for v in ws.tables.read(task.head(ws.tables, "videos")).to_pylist()}
    out = {}
    for c in ws.tables.read(ws.resolve(ref), CLIP_COLUMNS).to_pylist():
        if c["weight"] == 0:
            continue
        v = videos[c["video_id"]]
        out[key(c, v)] = (task.classes[c["label"]], c["split"], round(c["weight"], 4), c["end_frame"],
                          v.get("start_s") or 0.0, v.get("end_s"))
    return out


def _by_file(clip, video):
    """A clip by its file and end frame: formats that list clips as segments of files rename their videos."""
    return video["path"].rsplit("/", 1)[-1], clip["end_frame"]


def test_kinetics_csv_lists_each_clip_as_a_segment_and_round_trips(prebuilt, tmp_path):
    ws = _curated(tmp_path / "ws", "manifest", _segments_source(prebuilt, tmp_path / "data"))
    out = tmp_path / "data" / "curated.csv"
    proc = curate("-w", ws.root, "export", "src/clips@latest", "--format", "kinetics-csv", "-o", out)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["label", "youtube_id", "time_start", "time_end", "split", "path", "weight"]
    videos = {v["video_id"]: v for v in ws.tables.read(ws.resolve("src/videos")).to_pylist()}
    clips = [c for c in ws.tables.read(ws.resolve("src/clips@latest")).sort_by("clip_id").to_pylist() if c["weight"]]
    assert len(rows) == len(clips)
    for r, c in zip(rows, clips):  # Kinetics' own fields: the clip's span in seconds of the file, `validate`
        fps = videos[c["video_id"]]["fps"]
        first = c["end_frame"] - (c["n_frames"] - 1) * c["stride"]
        assert (r["youtube_id"], r["label"]) == (c["video_id"], ws.task("src").classes[c["label"]])
        assert float(r["time_start"]) == pytest.approx(first / fps, abs=1e-6)
        assert float(r["time_end"]) == pytest.approx((c["end_frame"] + 1) / fps, abs=1e-6)
        assert (r["split"], float(r["weight"])) == ({"val": "validate"}.get(c["split"], c["split"]), c["weight"])
        assert (tmp_path / "data" / r["path"]).samefile(tmp_path / "data" / videos[c["video_id"]]["path"])
    provenance = json.loads(out.with_suffix(".provenance.json").read_text())
    assert provenance["table"] == ws.resolve("src/clips@latest").ref
    assert provenance["fingerprint"] == ws.resolve("src/clips@latest").fingerprint
    assert curate("-w", ws.root, "ingest", "kinetics-csv", out, "--name", "again", *OPTIONS).returncode == 0
    ws = Workspace.open(ws.root)
    segment = slice(0, 4)  # each row is a segment of its own now: compare the clip, not its video's segment
    assert {k: v[segment] for k, v in _clips(ws, "again/clips", _by_file).items()} == \
        {k: v[segment] for k, v in _clips(ws, "src/clips@latest", _by_file).items()}


def test_class_folders_round_trip_as_split_and_class_folders_of_linked_files(prebuilt, tmp_path):
    ws = _curated(tmp_path / "ws", "folders", _folders_source(prebuilt, tmp_path / "ucf"))
    out = tmp_path / "tree"
    proc = curate("-w", ws.root, "export", "src/clips@latest", "--format", "folders", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "sample(s) weighted other than 1" in proc.stdout and "folders has no weight column" in proc.stdout
    assert f"5 files under {out}" in proc.stdout  # the tree, not one class folder of it
    manifest = curate("-w", ws.root, "export", "src/clips@latest", "--format", "manifest-csv", "-o",
                      tmp_path / "m.csv")
    assert manifest.returncode == 0 and "manifest-csv has no weight column" in manifest.stdout  # never silently
    files = sorted(p for p in out.rglob("*.mp4"))
    videos = {v["video_id"]: v for v in ws.tables.read(ws.resolve("src/videos")).to_pylist()}
    classes = ws.task("src").classes
    labels = {c["video_id"]: classes[c["label"]] for c in ws.tables.read(ws.resolve("src/clips@latest")).to_pylist()
              if c["weight"] != 0}
    assert len(files) == len(labels) == 5
    for f in files:  # <split>/<class>/<video>, each a hard link to the dataset's own file
        split, name = f.relative_to(out).parts[0], f.relative_to(out).parts[1]
        video_id = next(v for v in labels if f.stem == v.replace("/", "__"))
        assert (split, name) == (videos[video_id]["split"], labels[video_id])
        assert os.stat(f).st_ino == os.stat(tmp_path / "ucf" / videos[video_id]["path"]).st_ino
    assert json.loads((out / "curate-export.json").read_text())["table"] == ws.resolve("src/clips@latest").ref

    copied = tmp_path / "copied"
    assert curate("-w", ws.root, "export", "src/clips@latest", "--format", "folders", "--copy", "-o",
                  copied).returncode == 0
    assert all(os.stat(f).st_ino != os.stat(copied / f.relative_to(out)).st_ino for f in files)

    assert curate("-w", ws.root, "ingest", "folders", out, "--name", "again", *OPTIONS).returncode == 0
    ws = Workspace.open(ws.root)
    flat = {"src": lambda c, v: (c["video_id"].replace("/", "__"), c["end_frame"]),
            "again": lambda c, v: (v["path"].rsplit("/", 1)[1].rsplit(".", 1)[0], c["end_frame"])}
    before = {k: (*v[:2], 1.0, *v[3:]) for k, v in _clips(ws, "src/clips@latest", flat["src"]).items()}
    assert _clips(ws, "again/clips", flat["again"]) == before  # weight 0.5 is not in a tree: 1 again


@pytest.mark.slow  # a training run, then datasets' loader
def test_hf_dataset_loads_with_datasets_and_round_trips_with_the_runs_metrics(prebuilt, tmp_path):
    import datasets

    ws = _curated(tmp_path / "ws", "manifest", _segments_source(prebuilt, tmp_path / "data"))
    assert curate("-w", ws.root, "train", "--table", "src/clips@latest", "--model", "mvit_tiny", "--weights", "none",
                  "--epochs", "1", "--workers", "0", "--batch-size", "4", "--draws", "8").returncode == 0
    run = Workspace.open(ws.root).runs.resolve("last")
    out = tmp_path / "hf"
    proc = curate("-w", ws.root, "export", "src/clips@latest", "--format", "hf", "--run", run, "-o", out)
    assert proc.returncode == 0, proc.stderr
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf-cache"))
    expected = _clips(ws, "src/clips@latest")
    assert sum(len(split) for split in loaded.values()) == len(expected)
    assert loaded["train"].features["label"].names == list(ws.task("src").classes)
    from curation.review.metrics import clip_metrics

    metrics = {m["clip_id"]: m for m in clip_metrics(ws, run).to_pylist()}
    for name, split in loaded.items():
        for row in split:
            label, clip_split, weight, end_frame, *_ = expected[row["clip_id"]]
            assert (split.features["label"].names[row["label"]], row["split"], round(row["weight"], 4),
                    row["end_frame"]) == (label, clip_split, weight, end_frame)
            assert {"train": "train", "val": "validation", "test": "test"}[row["split"]] == name
            assert row["loss"] == pytest.approx(metrics[row["clip_id"]]["loss"])
            assert (out / row["video"]).resolve().samefile(tmp_path / "data" / "v0.mp4") == \
                row["video_id"].startswith("v0#")
    schema = __import__("pyarrow.parquet", fromlist=["x"]).read_schema(next(out.glob("data/train-*.parquet")))
    assert json.loads(schema.metadata[b"curate"])["fingerprint"] == ws.resolve("src/clips@latest").fingerprint
    assert curate("-w", ws.root, "ingest", "hf", out, "--name", "again", *OPTIONS).returncode == 0
    ws = Workspace.open(ws.root)
    assert _clips(ws, "again/clips") == expected


def test_fiftyone_temporal_detections_hold_each_clip_and_round_trip(prebuilt, tmp_path):
    ws = _curated(tmp_path / "ws", "manifest", _segments_source(prebuilt, tmp_path / "data"))
    out = tmp_path / "fo"
    assert curate("-w", ws.root, "export", "src/clips@latest", "--format", "fiftyone", "-o", out).returncode == 0
    document = json.loads((out / "labels.json").read_text())
    assert document["classes"] == list(ws.task("src").classes)
    assert document["curate"]["table"] == ws.resolve("src/clips@latest").ref
    expected = _clips(ws, "src/clips@latest")
    clips = {c["clip_id"]: c for c in ws.tables.read(ws.resolve("src/clips@latest")).to_pylist()}
    seen = set()
    for name, detections in document["labels"].items():  # FiftyOne's format, field by field
        media = next((out / "data").glob(f"{name}.*"))
        for d in detections:
            clip = clips[d["attributes"]["clip_id"]]
            assert set(d) == {"label", "support", "attributes"} and isinstance(d["label"], int)
            assert document["classes"][d["label"]] == expected[clip["clip_id"]][0]
            first = clip["end_frame"] - (clip["n_frames"] - 1) * clip["stride"]
            assert d["support"] == [first + 1, clip["end_frame"] + 1]  # 1-based, inclusive
            assert d["attributes"]["weight"] == pytest.approx(clip["weight"])
            assert media.samefile(tmp_path / "data" / (clip["video_id"].split("#")[0] + ".mp4"))
            seen.add(clip["clip_id"])
    assert seen == set(expected)
    assert curate("-w", ws.root, "ingest", "fiftyone", out, "--name", "again", *OPTIONS).returncode == 0
    ws = Workspace.open(ws.root)
    assert _clips(ws, "again/clips") == expected


def test_a_format_that_cannot_hold_the_dataset_is_one_line_naming_what_can(reviewed_ws, prebuilt, tmp_path):
    before = snapshot(tmp_path)
    line = assert_one_line_error(curate("-w", reviewed_ws, "export", "nexar/clips", "--format", "folders", "-o",
                                        tmp_path / "tree"), "cannot be written as folders")
    assert line.endswith("use one of fiftyone, hf, kinetics-csv, manifest-csv, nexar-csv")
    assert_one_line_error(curate("-w", reviewed_ws, "export", "nexar/clips", "--format", "parquet", "-o",
                                 tmp_path / "x"), "parquet")
    ws = _curated(tmp_path / "ws", "manifest", _segments_source(prebuilt, tmp_path / "data"))
    before = snapshot(tmp_path)
    assert_one_line_error(curate("-w", ws.root, "export", "src/clips", "--format", "folders", "-o", tmp_path / "t"),
                          "segments of files")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("keep")
    before = snapshot(tmp_path)
    assert_one_line_error(curate("-w", ws.root, "export", "src/clips", "--format", "hf", "-o", tmp_path / "full"),
                          "not empty")
    assert_one_line_error(curate("-w", ws.root, "export", "src/clips", "--format", "kinetics-csv", "--run", "x",
                                 "-o", tmp_path / "k.csv"), "no columns for a run")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("layout, content, needle", [
    ("kinetics-csv", "label,youtube_id,time_start\nwalk,a,0\n", "time_end"),
    ("kinetics-csv", "label,youtube_id,time_start,time_end\nwalk,a,0,1\nrun,b,0,1\n", "no video"),
    ("kinetics-csv", "label,youtube_id,time_start,time_end,path,weight\nwalk,a,0,1,a.mp4,-1\nrun,b,0,1,b.mp4,1\n",
     "not above 0"),
    ("fiftyone", None, "labels.json"),
    ("hf", b"not parquet", "not a readable Parquet"),
    ("activitynet-json", '{"database": {"a": {"annotations": [{"segment": 3}]}}}', "segment"),
    ("activitynet-json", '{"version": 1}', "no \"database\""),
])
def test_malformed_interchange_input_is_one_line_and_writes_nothing(tmp_path, layout, content, needle):
    given = tmp_path / "in"
    given.mkdir()
    if layout == "kinetics-csv":  # the file, as the command takes it
        given = given / "k.csv"
        given.write_text(content)
    elif layout == "hf":
        (given / "train-00000-of-00001.parquet").write_bytes(content)
    elif layout == "activitynet-json":
        given = given / "a.json"
        given.write_text(content)
    before = snapshot(tmp_path)
    assert_one_line_error(curate("-w", tmp_path / "ws", "ingest", layout, given), needle)
    assert snapshot(tmp_path) == before


def _events_source(prebuilt, root):
    """Event timestamps of five videos in three groups (one video without events)."""
    root.mkdir()
    times = {0: [1.0, 2.5], 1: [2.0], 3: [1.5, 3.0], 4: [0.8]}
    lines = ["path,group,event_s"]
    for k, video in enumerate(sorted((prebuilt / "data" / "train").glob("*.mp4"))[:5]):
        shutil.copy(video, root / f"run{k}.mp4")
        lines += [f"run{k}.mp4,track{k // 2},{t}" for t in times.get(k, [""])]
    (root / "events.csv").write_text("\n".join(lines) + "\n")
    return root / "events.csv"


def test_activitynet_json_holds_event_times_and_round_trips(prebuilt, tmp_path):
    ws_dir = tmp_path / "ws"
    assert curate("-w", ws_dir, "ingest", "events", _events_source(prebuilt, tmp_path / "data"), "--name", "src",
                  *OPTIONS).returncode == 0
    ws = Workspace.open(ws_dir)
    videos = {v["video_id"]: v for v in ws.tables.read(ws.resolve("src/videos")).to_pylist()}
    assert curate("-w", ws_dir, "edit", "src/clips", "--delete", "--where", "video_id == 'run1'",
                  "-m", "drop").returncode == 0
    out = tmp_path / "data" / "curated.json"
    proc = curate("-w", ws_dir, "export", "src/clips@latest", "--format", "activitynet-json", "-o", out)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(out.read_text())
    assert sorted(document["database"]) == sorted(set(videos) - {"run1"})
    for video_id, entry in document["database"].items():  # ActivityNet's fields
        v = videos[video_id]
        assert entry["subset"] == {"train": "training", "val": "validation", "test": "testing"}[v["split"]]
        assert entry["duration"] == pytest.approx(v["duration_s"])
        assert [a["segment"] for a in entry["annotations"]] == [[t, t] for t in json.loads(v["events"])]
        assert all(a["label"] == "event" for a in entry["annotations"])
    assert document["curate"]["fingerprint"] == Workspace.open(ws_dir).resolve("src/clips@latest").fingerprint
    assert curate("-w", ws_dir, "ingest", "activitynet-json", out, "--name", "again", *OPTIONS).returncode == 0
    ws = Workspace.open(ws_dir)
    assert _clips(ws, "again/clips") == _clips(ws, "src/clips@latest")
    columns = ["video_id", "events", "group", "split"]
    after = ws.tables.read(ws.resolve("again/videos"), columns).to_pylist()
    assert sorted(after, key=str) == sorted([{k: videos[v][k] for k in columns} for v in videos if v != "run1"],
                                            key=str)


def test_the_commands_format_choices_are_the_librarys():
    from curation.cli.review import export
    from curation.export import export_formats

    choices = next(p for p in export.params if p.name == "fmt").type.choices
    assert sorted(choices) == export_formats()


@pytest.mark.slow
def test_fiftyones_own_importer_reads_every_clip_back(prebuilt, tmp_path):
    """FiftyOne's FiftyOneTemporalDetectionDatasetImporter, from the registry in an environment of its own (its
    package pins older web libraries than curate's; its database is not needed to import)."""
    import subprocess
    import sys

    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("needs uv to build FiftyOne's environment (the README's test command runs under uv)")
    ws = _curated(tmp_path / "ws", "manifest", _segments_source(prebuilt, tmp_path / "data"))
    out = tmp_path / "fo"
    assert curate("-w", ws.root, "export", "src/clips@latest", "--format", "fiftyone", "-o", out).returncode == 0
    nexar = _layout_dataset(prebuilt, tmp_path / "nexar", "nexar")  # its event and alert times as detections too
    assert curate("-w", nexar.root, "export", "src/clips", "--format", "fiftyone", "-o", tmp_path / "fo-nexar"
                  ).returncode == 0
    script = os.path.join(os.path.dirname(__file__), "..", "scripts", "check_fiftyone_export.py")
    proc = subprocess.run([uv, "run", "--no-project", "--python", f"{sys.version_info[0]}.{sys.version_info[1]}",
                           "--with", "fiftyone", "python", script, str(out), str(tmp_path / "fo-nexar")],
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "FIFTYONE_DO_NOT_TRACK": "true"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for folder in (out, tmp_path / "fo-nexar"):
        videos = len(json.loads((folder / "labels.json").read_text())["labels"])
        assert f"{videos} videos imported by FiftyOne's importer" in proc.stdout
    assert proc.stdout.count("all match") == 2


def test_many_exported_files_are_named_by_the_folder_that_holds_them_all(tmp_path):
    from curation.cli.review import _shown_files

    files = [tmp_path / "tree" / split / cls / f"{k}.mp4" for k, (split, cls) in
             enumerate([("train", "a"), ("train", "b"), ("val", "a"), ("val", "b"), ("test", "a")])]
    assert _shown_files(files) == f"5 files under {tmp_path / 'tree'}"  # the tree, not its first class folder
    assert _shown_files(files[:2]) == f"{files[0]}, {files[1]}"


def test_a_class_datasets_ingest_summary_counts_no_positive_clips(prebuilt, tmp_path):
    proc = curate("-w", tmp_path / "ws", "ingest", "folders", _folders_source(prebuilt, tmp_path / "ucf"), *OPTIONS)
    assert proc.returncode == 0, proc.stderr
    assert "clips train:" in proc.stdout and "positive" not in proc.stdout


def _layout_dataset(prebuilt, tmp_path, layout: str) -> Workspace:
    """A Nexar, events or QA dataset ingested as `src` from the layout tests' sources."""
    from test_layouts import _events_source, _nexar_source, _qa_files

    tmp_path.mkdir(parents=True, exist_ok=True)
    data = tmp_path / "data"
    if layout == "nexar":
        given = _nexar_source(prebuilt, data).parent
    elif layout == "events":
        given = _events_source(prebuilt, data)
    else:
        _qa_files(prebuilt, data)
        given = data / "qa.json"
    assert curate("-w", tmp_path / "ws", "ingest", layout, given, "--name", "src", *OPTIONS).returncode == 0
    return Workspace.open(tmp_path / "ws")


@pytest.mark.slow  # three layouts through ingest, two exports, their readers and ingest again
@pytest.mark.parametrize("layout", ["nexar", "events", "qa"])
def test_nexar_events_and_qa_datasets_reach_hugging_face_and_fiftyone(prebuilt, tmp_path, layout):
    """Every kept clip is a row of the hf export (read by `datasets`) and a detection of the fiftyone export,
    with its label, span and the video's labelled times; labelled times are detections of their own at their
    frames; `curate ingest` reads both back as the clips' labels."""
    import datasets

    from curation.frames.timeline import Timeline
    from curation.ingest.layouts import LAYOUTS

    ws = _layout_dataset(prebuilt, tmp_path, layout)
    task, layout_of = ws.task("src"), LAYOUTS[layout]
    clips = {c["clip_id"]: c for c in ws.tables.read(ws.resolve("src/clips")).to_pylist()}
    videos = {v["video_id"]: v for v in ws.tables.read(task.head(ws.tables, "videos")).to_pylist()}
    assert curate("-w", ws.root, "export", "src/clips", "--format", "hf", "-o", tmp_path / "hf").returncode == 0
    loaded = datasets.load_dataset(str(tmp_path / "hf"), cache_dir=str(tmp_path / "hf-cache"))
    rows = [r for split in loaded.values() for r in split]
    assert sorted(r["clip_id"] for r in rows) == sorted(clips)
    for r in rows:
        clip, video = clips[r["clip_id"]], videos[r["video_id"]]
        assert r["label"] == clip["label"] and r["end_s"] == pytest.approx(clip["end_time_s"])
        assert r["time_to_event_s"] == (pytest.approx(clip["time_to_event_s"]) if clip["time_to_event_s"]
                                        is not None else None)
        assert r["event_times_s"] == layout_of.labelled_times(video)
        assert r["alert_s"] == (pytest.approx(layout_of.alert_time(video)) if layout_of.alert_time(video)
                                is not None else None)
        if layout == "qa":
            assert r["question"] == clip["question"] and r["answer"] == clip["answer"]
    assert loaded[next(iter(loaded))].features["label"].names == list(task.classes)

    out = tmp_path / "fo"
    assert curate("-w", ws.root, "export", "src/clips", "--format", "fiftyone", "-o", out).returncode == 0
    document = json.loads((out / "labels.json").read_text())
    detections = [d for ds in document["labels"].values() for d in ds]
    assert sorted(d["attributes"]["clip_id"] for d in detections if "clip_id" in d["attributes"]) == sorted(clips)
    marks = [d for d in detections if d["attributes"].get("mark")]
    expected_marks = {(v, round(t, 6)) for v, row in videos.items() if row["status"] == "ok"
                      for t in (layout_of.labelled_times(row) or [])}
    assert {(d["attributes"]["video_id"], round(d["attributes"]["time_s"], 6)) for d in marks
            if d["attributes"]["mark"] == "event"} == expected_marks
    for d in marks:  # each at the frame whose timestamp is nearest its time
        timeline = Timeline.of_video(videos[d["attributes"]["video_id"]])
        assert d["support"][0] == timeline.nearest(d["attributes"]["time_s"]) + 1
        assert document["classes"][d["label"]] == d["attributes"]["mark"]
    assert bool(marks) == layout_of.times_are_labels
    assert any(d["attributes"]["mark"] == "alert to event" for d in marks) == (layout == "nexar")
    for fmt, folder in (("hf", tmp_path / "hf"), ("fiftyone", out)):
        assert curate("-w", ws.root, "ingest", fmt, folder, "--name", f"back-{fmt}", *OPTIONS).returncode == 0
        assert list(Workspace.open(ws.root).task(f"back-{fmt}").classes) == list(task.classes)


def test_nexar_clips_reach_kinetics_csv_and_read_back_a_row_a_clip(prebuilt, tmp_path):
    ws = _layout_dataset(prebuilt, tmp_path, "nexar")
    clips = ws.tables.read(ws.resolve("src/clips")).to_pylist()
    out = tmp_path / "k.csv"
    assert curate("-w", ws.root, "export", "src/clips", "--format", "kinetics-csv", "-o", out).returncode == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "label,youtube_id,time_start,time_end,split,path,weight" and len(lines) == len(clips) + 1
    assert {line.split(",")[0] for line in lines[1:]} <= set(ws.task("src").classes)
    assert curate("-w", ws.root, "ingest", "kinetics-csv", out, "--name", "back", *OPTIONS).returncode == 0
    back = Workspace.open(ws.root)
    assert back.tables.read(back.resolve("back/videos")).num_rows == len(clips)  # a segment a clip


@pytest.mark.slow  # end to end through torchvision's decoder
@needs_ffmpeg
def test_a_folder_tree_export_is_read_by_torchvisions_kinetics_dataset(prebuilt, tmp_path):
    """`torchvision.datasets.Kinetics` over the exported tree: each split's classes and videos are the curated
    revision's, and a clip decodes (TorchCodec, the system's FFmpeg)."""
    from torchvision.datasets import Kinetics

    from curation.interop.base import flat_name

    ws = _curated(tmp_path / "ws", "folders", _folders_source(prebuilt, tmp_path / "ucf"))
    out = tmp_path / "tree"
    assert curate("-w", ws.root, "export", "src/clips@latest", "--format", "folders", "-o", out).returncode == 0
    classes = ws.task("src").classes
    kept = {}
    for c in ws.tables.read(ws.resolve("src/clips@latest")).to_pylist():
        if c["weight"] != 0:
            kept.setdefault(c["split"], {})[c["video_id"]] = classes[c["label"]]
    for split, videos in kept.items():
        data = Kinetics(str(out), frames_per_clip=8, split=split, step_between_clips=8, num_workers=0,
                        output_format="TCHW")
        assert data.classes == sorted(set(videos.values()))
        assert len(data.video_clips.video_paths) == len(videos)
        frames, _, label = data[0]
        assert frames.shape[0] == 8 and frames.shape[1] == 3
        by_file = {flat_name(v): cls for v, cls in videos.items()}
        assert data.classes[label] == by_file[Path(data.video_clips.video_paths[0]).stem]
