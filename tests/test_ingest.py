"""Ingest of the Nexar layout (from the synthetic generator), class folders and manifests."""
import csv
import io
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import tiny_synth
from curation.errors import BadInput, NotFound
from curation.ingest.clips import LabelRule, frame_indices
from curation.frames.cache import FrameReader
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.layouts import read_folders, read_manifest, read_nexar
from curation.synth import load_truth
from curation.workspace import Workspace


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth") / "data"
    tiny_synth(root, seed=3, n_train=12, n_test=4, n_corrupt=3)
    return root


@pytest.fixture(scope="module")
def ingested(synth_root, tmp_path_factory):
    ws = Workspace.open(tmp_path_factory.mktemp("ws"), backend="lance")
    result = ingest(ws, read_nexar(synth_root), "nexar", IngestOptions(frame_size=64), progress=False)
    return ws, result


def read(ws, ref, columns=None):
    return ws.tables.read(ws.resolve(ref), columns).to_pylist()


def test_tables_registered_and_bad_videos_recorded(ingested, synth_root):
    ws, result = ingested
    truth = load_truth(synth_root)
    assert result.revisions == {"videos": 1, "frames": 1, "clips": 1, "test": 1}
    videos = {v["video_id"]: v for v in read(ws, "videos")}
    assert set(videos) == set(truth["videos"])
    for vid, kind in truth["corrupt"].items():
        assert videos[vid]["status"] == "corrupt" and videos[vid]["status_reason"]
    assert result.status == {"ok": 13, "corrupt": 3}
    ok = [v for v in videos.values() if v["status"] == "ok"]
    for v in ok:  # each video's own fps, as probed
        assert abs(v["fps"] - truth["videos"][v["video_id"]]["fps"]) < 0.05
    clip_videos = {c["video_id"] for c in read(ws, "clips")} | {c["video_id"] for c in read(ws, "test")}
    assert clip_videos == {v["video_id"] for v in ok}


def test_clip_labels_follow_alert_rule_and_stop_at_event(ingested):
    ws, _ = ingested
    videos = {v["video_id"]: v for v in read(ws, "videos")}
    clips = read(ws, "clips")
    assert clips
    for c in clips:
        v = videos[c["video_id"]]
        assert c["end_frame"] < v["n_frames"]
        if v["target"] == 1:
            assert c["end_time_s"] <= v["time_of_event"] + 1e-3  # clips after the event are dropped
            expected = int(v["time_of_alert"] - 1e-3 <= c["end_time_s"] <= v["time_of_event"] + 1e-3)
            assert c["label"] == expected
        else:
            assert c["label"] == 0 and c["time_to_event_s"] is None
    positives = [v for v in videos.values() if v["target"] == 1 and v["status"] == "ok"]
    windows = {(c["video_id"], c["eval_window"]) for c in clips if c["eval_window"]}
    for v in positives:
        assert {(v["video_id"], f"tau_{t}") for t in ("0.5", "1.0", "1.5")} <= windows
    assert sum(c["label"] for c in clips) > 0


def test_test_table_is_the_final_window_of_each_test_video(ingested):
    ws, _ = ingested
    videos = {v["video_id"]: v for v in read(ws, "videos")}
    test = read(ws, "test")
    assert sorted(c["video_id"] for c in test) == sorted(v for v, r in videos.items()
                                                         if r["split"] == "test" and r["status"] == "ok")
    for c in test:
        assert c["end_frame"] == videos[c["video_id"]]["n_frames"] - 1 and c["eval_window"] == "final"


def test_val_split_is_grouped_by_video(ingested):
    ws, _ = ingested
    clips = read(ws, "clips")
    train = {c["video_id"] for c in clips if c["split"] == "train"}
    val = {c["video_id"] for c in clips if c["split"] == "val"}
    assert train and val and not train & val


def test_every_clip_frame_is_cached_as_a_small_jpeg(ingested):
    ws, _ = ingested
    reader = FrameReader(ws.cache("nexar").root)
    frames = {f["frame_id"] for f in read(ws, "frames", ["frame_id"])}
    for c in read(ws, "clips") + read(ws, "test"):
        ids = [f"{c['video_id']}:{i}" for i in frame_indices(c["end_frame"], c["stride"], c["n_frames"])]
        assert set(ids) <= frames and all(i in reader for i in ids)
    some = read(ws, "clips")[0]
    jpegs = reader.read([f"{some['video_id']}:{i}" for i in frame_indices(some["end_frame"], some["stride"], 16)])
    img = Image.open(io.BytesIO(jpegs[-1]))
    assert img.size == (64, 64) and np.asarray(img).std() > 1  # a real picture, not a blank


def test_reingest_unchanged_writes_nothing_and_changed_input_makes_revision(synth_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(synth_root, root)
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_nexar(root), "nexar", IngestOptions(frame_size=32), progress=False)
    again = ingest(ws, read_nexar(root), "nexar", IngestOptions(frame_size=32), progress=False)
    assert again.unchanged and again.frames_decoded == 0
    assert [r.number for r in ws.tables.revisions("nexar", "clips")] == [1]
    (root / "test" / sorted(p.name for p in (root / "test").iterdir())[0]).unlink()  # a video goes missing
    changed = ingest(ws, read_nexar(root), "nexar", IngestOptions(frame_size=32), progress=False)
    assert not changed.unchanged and changed.revisions["videos"] == 2 and changed.status["missing"] == 1
    assert changed.frames_decoded == 0  # cached frames are reused
    assert ws.tables.read(ws.resolve("test@1")).num_rows == ws.tables.read(ws.resolve("test@2")).num_rows + 1


def test_horizon_rule_and_folds(synth_root, tmp_path):
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_nexar(synth_root), "nexar", IngestOptions(label_rule="horizon:0.5", folds=3, frame_size=32),
           progress=False)
    videos = {v["video_id"]: v for v in read(ws, "videos")}
    clips = read(ws, "clips")
    for c in clips:
        v = videos[c["video_id"]]
        tte = c["time_to_event_s"]
        assert c["label"] == int(v["target"] == 1 and tte is not None and -1e-3 <= tte <= 0.5 + 1e-3)
        assert c["fold"] in (0, 1, 2) and (c["split"] == "val") == (c["fold"] == 0)
    assert {c["fold"] for c in clips} == {0, 1, 2}


@pytest.mark.parametrize("content, match", [
    ("id,target\n00001\n", "field count|fields"),
    ("name,target\n00001,0\n", "lacks column"),
    ("id,time_of_event,time_of_alert,target\n00001,abc,1.0,1\n", "not a number"),
    ("id,target\n00001,2\n", "not 0 or 1"),
])
def test_malformed_csv_is_one_error_and_writes_nothing(tmp_path, content, match):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text(content)
    with pytest.raises(BadInput, match=match):
        read_nexar(tmp_path / "data")


def test_missing_root_and_missing_csv(tmp_path):
    with pytest.raises(NotFound, match="does not exist"):
        read_nexar(tmp_path / "nope")
    with pytest.raises(NotFound, match="train.csv"):
        read_nexar(tmp_path)


def test_label_rule_parsing():
    assert str(LabelRule.parse("horizon:1.5")) == "horizon:1.5"
    with pytest.raises(BadInput):
        LabelRule.parse("horizon:-1")
    rule = LabelRule.parse("alert")
    assert rule.label(5.0, event_s=6.0, alert_s=4.0) == 1
    assert rule.label(3.9, event_s=6.0, alert_s=4.0) == 0
    assert rule.label(6.1, event_s=6.0, alert_s=4.0) == 0


def _class_folders(synth_root, dst):
    truth = load_truth(synth_root)["videos"]
    ok = [v for v, t in sorted(truth.items()) if t["split"] == "train"
          and v not in load_truth(synth_root)["corrupt"]]
    for i, vid in enumerate(ok[:8]):
        cls = "crash" if truth[vid]["target"] else "calm"
        (dst / cls).mkdir(parents=True, exist_ok=True)
        shutil.copy(synth_root / "train" / f"{vid}.mp4", dst / cls / f"v_{cls}_g{i % 3:02d}_c01.mp4")
    return dst


def test_folders_ingest_groups_ucf_names(synth_root, tmp_path):
    root = _class_folders(synth_root, tmp_path / "ucf")
    source = read_folders(root)
    assert source.classes == ["calm", "crash"]
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    result = ingest(ws, source, "ucf", IngestOptions(val_fraction=0.3, frame_size=32), progress=False)
    assert set(result.revisions) == {"videos", "frames", "clips"}
    videos = {v["video_id"]: v for v in read(ws, "ucf/videos")}
    groups = {}
    for v in videos.values():
        groups.setdefault((v["video_id"].split("/")[0], v["video_id"].split("_g")[1][:2]), set()).add(v["split"])
    assert all(len(splits) == 1 for splits in groups.values())  # a UCF group never straddles train/val
    for c in read(ws, "ucf/clips"):
        assert c["label"] == videos[c["video_id"]]["label"]


def test_manifest_ingest_with_segments_and_splits(synth_root, tmp_path):
    root = _class_folders(synth_root, tmp_path / "m")
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.mp4"))
    with open(root / "list.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "split", "start_s", "end_s"])
        for i, p in enumerate(files):
            w.writerow([p, p.split("/")[0], "test" if i == 0 else "", "0.5" if i == 1 else "", "3" if i == 1 else ""])
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_manifest(root / "list.csv"), "m", IngestOptions(frame_size=32), progress=False)
    videos = {v["video_id"]: v for v in read(ws, "m/videos")}
    assert videos[files[0].rsplit(".", 1)[0]]["split"] == "test"
    segment = [v for v in videos.values() if v["start_s"] == 0.5]
    assert len(segment) == 1
    seg_clips = [c for c in read(ws, "m/clips") if c["video_id"] == segment[0]["video_id"]]
    fps = segment[0]["fps"]
    assert seg_clips and all(0.5 * fps - 1 <= c["end_frame"] - 15 * c["stride"] and c["end_frame"] < 3 * fps
                             for c in seg_clips)
    with open(root / "bad.csv", "w") as f:
        f.write("path,label\nonly_one_class.mp4,a\n")
    with pytest.raises(BadInput, match="two classes"):
        read_manifest(root / "bad.csv")


def cached_state(ws) -> tuple[dict, dict]:
    """The dataset's tables sorted by id, and its frame cache as frame_id → JPEG bytes."""
    import lance

    tables = {name: ws.tables.read(ws.tables.head("nexar", name)).sort_by(ws.tables.spec("nexar", name).id_column)
              for name in ("videos", "frames", "clips", "test")}
    frames = lance.dataset(ws.cache("nexar").uri("frames.lance")).to_table(columns=["frame_id", "jpeg"])
    return tables, dict(zip(frames["frame_id"].to_pylist(), frames["jpeg"].to_pylist()))


@pytest.fixture(scope="module")
def one_worker(synth_root, tmp_path_factory):
    ws = Workspace.open(tmp_path_factory.mktemp("ws1"), backend="lance")
    result = ingest(ws, read_nexar(synth_root), "nexar", IngestOptions(frame_size=64), progress=False, workers=1)
    return result, *cached_state(ws)


def assert_same_ingest(reference, result, tables, cache):
    one, one_tables, one_cache = reference
    assert one.status == result.status and one.problems == result.problems and one.status.get("corrupt", 0) >= 1
    assert one.frames_decoded == result.frames_decoded > 0
    for name in one_tables:
        assert one_tables[name].equals(tables[name]), name
    assert one_cache == cache and len(cache) == one.frames_decoded


def test_parallel_ingest_writes_what_one_worker_writes(synth_root, tmp_path, one_worker):
    """Two worker processes (with the corrupt videos among their jobs) give the same tables, statuses and
    cached JPEG bytes as one process."""
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    result = ingest(ws, read_nexar(synth_root), "nexar", IngestOptions(frame_size=64), progress=False, workers=2)
    assert_same_ingest(one_worker, result, *cached_state(ws))


@pytest.mark.slow
def test_ray_ingest_on_a_local_two_cpu_instance_writes_what_a_local_ingest_writes(synth_root, tmp_path, one_worker,
                                                                                  s3_bucket):
    """Ray tasks write fragments of the frame store that the ingest commits as one version, into a folder or
    straight into a bucket (`--ray local` with the workspace on S3); a second Ray ingest of a changed video
    appends to the existing store."""
    import lance

    from curation.ingest.ray_engine import RayEngine

    ws = Workspace.open(tmp_path / "ws", backend="lance")
    engine = RayEngine(num_cpus=2, videos_per_task=3)
    with engine:  # one Ray instance for both ingests (each ingest's own enter finds it running): one start, not two
        result = ingest(ws, read_nexar(synth_root), "nexar", IngestOptions(frame_size=64), progress=False,
                        engine=engine)
        assert_same_ingest(one_worker, result, *cached_state(ws))
        store = ws.cache("nexar").root / "frames.lance"
        assert lance.dataset(str(store)).version == 1 and len(lance.dataset(str(store)).get_fragments()) > 1
        in_bucket = Workspace.open(f"{s3_bucket}/team/ws")
        result = ingest(in_bucket, read_nexar(synth_root), "nexar", IngestOptions(frame_size=64), progress=False,
                        engine=engine)
        assert_same_ingest(one_worker, result, *cached_state(in_bucket))

        changed = tmp_path / "data"
        shutil.copytree(synth_root, changed)  # copy2 keeps mtimes: only the touched video has a new signature
        cached_videos = {fid.split(":")[0] for fid in one_worker[2]}
        first = next(p for p in sorted((changed / "train").glob("*.mp4")) if p.stem in cached_videos)
        first.touch()
        again = ingest(ws, read_nexar(changed), "nexar", IngestOptions(frame_size=64), progress=False, engine=engine)
        cached = Workspace.open(tmp_path / "ws").cache("nexar").root
        frames = lance.dataset(str(cached / "frames.lance")).to_table(columns=["frame_id"])["frame_id"].to_pylist()
        assert again.frames_decoded == sum(f.startswith(first.stem + ":") for f in frames) > 0
        assert sorted(frames) == sorted(one_worker[2]) and len(frames) == len(set(frames))
