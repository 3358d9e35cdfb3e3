"""The collection pass: eval mode, no augmentation, over whole tables — probability, loss, margin and the
backbone embedding (float16) per clip, plus a 2-D map of all embeddings — written to the run."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from curation.data.dataset import ClipDataset
from curation.faults import fault_point
from curation.runs.plots import plot_map
from curation.runs.protocol import CollectionKey
from curation.runs.reduce import reduce_2d
from curation.task import TEST

OUTPUT_COLUMNS = ("prob", "loss", "margin", "prob_label", "logit")


def _embedding_array(vectors: np.ndarray, dim: int) -> pa.Array:
    flat = np.asarray(vectors, dtype=np.float16).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float16()), dim)


def collect_tables(trainer, revisions: list, tag: str = "", sample: int | None = None) -> dict[str, pa.Table]:
    """Predict every clip of each revision (or `sample` of them); on rank 0 reduce all embeddings together and
    write one collection per table (`<table>@<revision>[-tag]`). Every rank must call this (eval passes are
    sharded)."""
    results = []
    for rev in revisions:
        ds = ClipDataset.from_revision(trainer.ws, rev, trainer.eval_tf)
        ds = ds.sample(sample, trainer.cfg.seed) if sample else ds
        out = trainer.predict(ds, f"collecting {rev.table}@{rev.number}")
        results.append((rev, ds, out))
    if not trainer.d.is_main:
        return {}
    dim = trainer.mspec.feature_dim
    embeddings = [np.stack(out["embedding"]) if out["embedding"] else np.zeros((0, dim), np.float16)
                  for _, _, out in results]
    xy = reduce_2d(np.concatenate(embeddings), seed=trainer.cfg.seed)
    tables, offset = {}, 0
    n_clips = sum(len(out["index"]) for _, _, out in results)
    trainer.collect_stats = {"ms_per_clip": sum(out["ms_per_clip"] * len(out["index"]) for _, _, out in results)
                             / max(1, n_clips), "skipped": [s for _, _, out in results for s in out["skipped"]]}
    for (rev, ds, out), emb in zip(results, embeddings):
        idx = np.asarray(out["index"], dtype=int)
        rows = ds.rows.take(pa.array(idx, pa.int64())) if len(idx) else ds.rows.slice(0, 0)
        table = pa.table({
            "clip_id": rows["clip_id"], "video_id": rows["video_id"], "split": rows["split"],
            "label": rows["label"],
            **{k: pa.array(out[k], pa.float32()) for k in OUTPUT_COLUMNS},
            "pred": pa.array(out["pred"], pa.int32()),
            "embedding": _embedding_array(emb, dim),
            "map_x": pa.array(xy[offset:offset + len(idx), 0], pa.float32()),
            "map_y": pa.array(xy[offset:offset + len(idx), 1], pa.float32()),
        })
        offset += len(idx)
        name = str(CollectionKey.of(rev, tag))
        trainer.runs.write_collection(trainer.run, name, table)
        tables[name] = table
    _plot_maps(trainer, tables, tag)
    return tables


def _plot_maps(trainer, tables: dict[str, pa.Table], tag: str) -> None:
    merged = pa.concat_tables(list(tables.values()))
    if merged.num_rows == 0:
        return
    xy = np.stack([merged["map_x"].to_numpy(), merged["map_y"].to_numpy()], axis=1)
    classes = trainer.spec.classes or []
    labels = np.array([classes[v] if v is not None and v >= 0 else "unlabelled"
                       for v in merged["label"].to_pylist()], dtype=object)
    suffix = f"-{tag}" if tag else ""
    plot_map(xy, labels, "embedding map by label", trainer.runs.plot_path(trainer.run, f"map_label{suffix}.png"),
             categorical=True)
    loss = merged["loss"].to_numpy(zero_copy_only=False)
    known = ~np.isnan(loss)
    if known.any():
        plot_map(xy[known], loss[known], "embedding map by loss",
                 trainer.runs.plot_path(trainer.run, f"map_loss{suffix}.png"), categorical=False)


def test_revision(trainer):
    """The dataset's test table at head, when its task has one (Nexar)."""
    task = trainer.task
    if task.has(TEST) and trainer.revision.table != task.table(TEST):
        return task.head(trainer.ws.tables, TEST)
    return None


def collected_revisions(trainer) -> list:
    """What a run's collection pass covers: the training revision and the test table."""
    return [trainer.revision] + [r for r in [test_revision(trainer)] if r is not None]


def collect_run(trainer, record, tag: str = "") -> None:
    """The end-of-run (or every-K-epochs) collection over the training revision and the test table."""
    fault_point("train.collect")
    tables = collect_tables(trainer, collected_revisions(trainer), tag)
    if trainer.d.is_main:
        record.collections.update({name: {"rows": t.num_rows, "epoch": len(record.epochs)}
                                   for name, t in tables.items()})
        record.inference_ms_per_clip = round(trainer.collect_stats["ms_per_clip"], 3)
        trainer.runs.write_record(trainer.run, record)
