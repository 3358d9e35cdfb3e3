"""A workspace of review_scale's world, as ingest and a run would leave it, made without videos or training: the
videos, frames and clips tables (written with ingest's specs and the ingest record `curation.task` reads), the
frame descriptors kept in the frame cache (review_scale's frame descriptors as 16×16 grey thumbnails, its looks),
and one completed binary run over clips@1 — two epochs of dynamics (planted label issues have a low margin) and
a final collection pass whose clip embeddings average to the world's video embeddings (a copy's clips repeat its
original's). `curate suggest` reads it as it reads any workspace.

    build(root, world(n, clips), clips) -> (workspace, run id, planted label issues)
"""
from __future__ import annotations

from pathlib import Path

import lance
import numpy as np
import pyarrow as pa

from curation.frames.descriptors import SCHEMA as DESCRIPTORS, SIZE
from curation.ingest.layouts.base import Source
from curation.ingest.pipeline import CLIP_SCHEMA, FRAME_SCHEMA, IngestOptions, table_specs
from curation.runs.record import RunInputs, RunRecord
from curation.workspace import Workspace

DATASET, CLASSES = "scale", ["normal", "collision"]
LABEL_ISSUES, UNREADABLE = 0.02, 0.0005  # shares of the train videos, of all videos
FPS, FRAMES_PER_CLIP = 10, 16


def build(root: Path, world: tuple, clips: int, seed: int = 1):
    """The workspace at `root` of review_scale's `world` with `clips` clips a video: (workspace, run id, the
    videos planted as label issues)."""
    frames, _, videos, split_of, embeddings, looks, pairs, _ = world
    rng = np.random.default_rng(seed)
    n = len(videos)
    ws = Workspace.open(root)
    split = np.array([split_of[v] for v in videos])
    label = rng.integers(2, size=n).astype(np.int32)
    status = np.where(rng.random(n) < UNREADABLE, "corrupt", "ok")
    ok = status == "ok"
    train = np.flatnonzero(ok & (split == "train"))
    issues = np.zeros(n, bool)
    issues[rng.choice(train, size=int(LABEL_ISSUES * len(train)), replace=False)] = True
    _tables(ws, root, videos, split, label, status, clips)
    _descriptors(ws, videos, frames, looks, ok)
    position = {v: i for i, v in enumerate(videos)}
    copies = [tuple(position[v] for v in pair) for pair in pairs]
    run = _run(ws, videos, split, label, issues, np.stack([embeddings[v] for v in videos]), copies, clips, rng)
    return ws, run, {videos[i] for i in np.flatnonzero(issues)}


def _tables(ws, root: Path, videos, split, label, status, clips: int) -> None:
    n, ok = len(videos), status == "ok"
    source = Source(kind="folders", root=root, classes=CLASSES, videos=[])
    meta = {"ingest": {"kind": "folders", "event_task": False, "root": str(root), "reader": {},
                       "options": IngestOptions().to_dict(), "params": {}, "label_rule": "alert",
                       "fingerprint": "review_scale", "summary": {}}}
    specs = table_specs(DATASET, source)
    vid = pa.array(videos)
    ws.tables.create(specs["videos"], pa.table({
        "video_id": vid, "path": pa.array([f"{v}.mp4" for v in videos]), "split": pa.array(split),
        "fold": pa.array(np.full(n, -1, np.int32)), "fps": pa.array(np.full(n, FPS, np.float32)),
        "n_frames": pa.array(np.full(n, 60, np.int32)), "width": pa.array(np.full(n, 96, np.int32)),
        "height": pa.array(np.full(n, 96, np.int32)), "duration_s": pa.array(np.full(n, 6.0, np.float32)),
        "status": pa.array(status), "status_reason": pa.array(np.where(ok, "", "cannot decode")),
        "label": pa.array(label), "weight": pa.array(np.ones(n, np.float32))}), message="review_scale", meta=meta)
    index = np.repeat(np.flatnonzero(ok), 12)
    frame_no = np.tile(np.arange(12, dtype=np.int32) * 5, int(ok.sum()))
    ids = [f"{videos[i]}:{k}" for i, k in zip(index, frame_no)]
    ws.tables.create(specs["frames"], pa.table({
        "frame_id": pa.array(ids), "video_id": pa.array(np.asarray(videos)[index]), "index": pa.array(frame_no),
        "time_s": pa.array((frame_no / FPS).astype(np.float32)), "split": pa.array(split[index])},
        schema=FRAME_SCHEMA), message="review_scale", meta=meta)
    index = np.repeat(np.flatnonzero(ok), clips)
    end = np.tile(np.arange(clips, dtype=np.int32) * 4 + FRAMES_PER_CLIP - 1, int(ok.sum()))
    m = len(index)
    ws.tables.create(specs["clips"], pa.table({
        "clip_id": pa.array([f"{videos[i]}:{e}" for i, e in zip(index, end)]),
        "video_id": pa.array(np.asarray(videos)[index]), "split": pa.array(split[index]),
        "fold": pa.array(np.full(m, -1, np.int32)), "end_frame": pa.array(end),
        "stride": pa.array(np.ones(m, np.int32)), "n_frames": pa.array(np.full(m, FRAMES_PER_CLIP, np.int32)),
        "end_time_s": pa.array((end / FPS).astype(np.float32)), "time_to_event_s": pa.nulls(m, pa.float32()),
        "label": pa.array(label[index]),
        "weight": pa.array(np.ones(m, np.float32)), "eval_window": pa.nulls(m, pa.string())}, schema=CLIP_SCHEMA),
        message="review_scale", meta=meta)
    ws.set_dataset(DATASET)


def _descriptors(ws, videos, frames: np.ndarray, looks: np.ndarray, ok: np.ndarray) -> None:
    """The world's frame descriptors as the grey thumbnails ingest keeps (uint8, 16×16), for the readable videos."""
    keep = np.flatnonzero(ok)
    thumbs = np.clip(np.rint(128 + 25 * frames.reshape(len(videos), -1, SIZE * SIZE)[keep]), 0, 255).astype(np.uint8)
    folder = ws.cache(DATASET).root
    folder.mkdir(parents=True, exist_ok=True)
    lance.write_dataset(pa.table({
        "video_id": pa.array(np.asarray(videos)[keep]), "signature": pa.array(np.full(len(keep), "review_scale")),
        "thumbs": pa.array([t.tobytes() for t in thumbs], pa.binary()),
        "look": pa.FixedSizeListArray.from_arrays(pa.array(looks[keep].ravel(), pa.float32()), looks.shape[1])
        .cast(DESCRIPTORS.field("look").type)}, schema=DESCRIPTORS), str(folder / "descriptors.lance"))


def _run(ws, videos, split, label, issues, embeddings: np.ndarray, copies: list, clips: int, rng) -> str:
    revision = ws.tables.head(DATASET, "clips")
    rows = ws.tables.read(revision, ["clip_id", "video_id", "split", "label", "end_frame"])
    position = {v: i for i, v in enumerate(videos)}
    owner = np.array([position[v] for v in rows["video_id"].to_pylist()])
    nth = (rows["end_frame"].to_numpy() - FRAMES_PER_CLIP + 1) // 4  # which clip of its video
    m = len(owner)
    margin = np.where(issues[owner], -0.4, 0.4) + 0.25 * rng.normal(size=m)
    p_label = np.clip(0.5 + margin / 2, 0.01, 0.99)
    labels = label[owner]
    prob = np.where(labels == 1, p_label, 1 - p_label).astype(np.float32)  # of the positive class
    trained = split[owner] == "train"
    dynamics = pa.table({"clip_id": rows["clip_id"].filter(pa.array(trained))})
    run = ws.runs.create("scale")
    for epoch in (1, 2):
        k = len(dynamics)
        ws.runs.write_dynamics(run, epoch, dynamics.append_column("epoch", pa.array(np.full(k, epoch, np.int32)))
                               .append_column("margin", pa.array((margin[trained] + 0.1 * rng.normal(size=k))
                                                                 .astype(np.float32)))
                               .append_column("loss", pa.array(-np.log(p_label[trained]).astype(np.float32)))
                               .append_column("prob", pa.array(prob[trained])))
    # every clip of a video near its video's embedding; a copy's clips repeat its original's noise
    noise = 0.3 * rng.normal(size=(len(videos), clips, embeddings.shape[1])).astype(np.float32)
    for a, b in copies:
        noise[a] = noise[b]
    per_clip = (embeddings[owner] + noise[owner, nth]).astype(np.float16)
    rows = rows.drop_columns(["end_frame"])
    record = RunRecord(
        run=run, status="completed", config={"model": "external", "epochs": 2},
        inputs=RunInputs(dataset=DATASET, table="clips", revision=revision.number, ref=revision.ref,
                         fingerprint=revision.fingerprint, rows=revision.rows),
        backend=ws.backend, task="binary", classes=CLASSES, metric="accuracy", model={"name": "external"}, device="",
        epochs=[{"epoch": 2, "train_loss": 0.3, "constant_loss": 0.69, "val_chance": 0.5, "val": {"accuracy": 0.9}}],
        best={"epoch": 2, "metric": "accuracy", "value": 0.9})
    ws.runs.write_record(run, record)
    ws.runs.write_collection(run, str(record.training_collection()), rows.append_column("prob", pa.array(prob))
                             .append_column("margin", pa.array(margin.astype(np.float32)))
                             .append_column("pred", pa.array(np.where(margin > 0, labels, 1 - labels).astype(np.int32)))
                             .append_column("embedding", pa.FixedSizeListArray.from_arrays(
                                 pa.array(per_clip.ravel(), pa.float16()), embeddings.shape[1])))
    return run

