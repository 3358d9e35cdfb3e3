"""Every layout end to end through the real command: ingest → train → suggest → edit → retrain → evaluate."""
import csv
import shutil

import numpy as np

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
