"""The collection pass: eval mode, no augmentation, over whole tables — probability, loss, margin, every class's
probability (`probs`) and the backbone embedding (float16) per clip, plus a 2-D map of all embeddings — written
to the run."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from curation.faults import fault_point
from curation.runs.plots import plot_map
from curation.runs.protocol import CollectionKey
from curation.runs.reduce import reduce_2d
from curation.task import TEST

OUTPUT_COLUMNS = ("prob", "loss", "margin", "prob_label", "logit")


def _embedding_array(vectors: np.ndarray, dim: int, dtype=np.float16) -> pa.Array:
    flat = np.asarray(vectors, dtype=dtype).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.from_numpy_dtype(dtype)), dim)


def collect_tables(predictor, ws, runs, run: str, revisions: list, *, home: str, classes: list[str], seed: int,
                   tag: str = "", sample: int | None = None) -> tuple[dict[str, pa.Table], dict]:
    """Predict every clip of each revision (or `sample` of them); on rank 0 reduce all embeddings together and
    write one collection per table to `run` in `runs` (named by `CollectionKey`; `home`: the dataset the run
    trained on). Returns the tables and the pass's ms per clip and skipped clips. Every rank must call this
    (eval passes are sharded)."""
    results = []
    for rev in revisions:
        ds = predictor.dataset(ws, rev)
        ds = ds.sample(sample, seed) if sample else ds
        out = predictor.predict(ds, f"collecting {rev.table}@{rev.number}")
        results.append((rev, ds, out))
    if not predictor.d.is_main:
        return {}, {}
    dim = predictor.feature_dim
    n_classes = max(2, len(classes))
    embeddings = [np.stack(out["embedding"]) if out["embedding"] else np.zeros((0, dim), np.float16)
                  for _, _, out in results]
    xy = reduce_2d(np.concatenate(embeddings), seed=seed)
    tables, offset = {}, 0
    n_clips = sum(len(out["index"]) for _, _, out in results)
    stats = {"ms_per_clip": sum(out["ms_per_clip"] * len(out["index"]) for _, _, out in results) / max(1, n_clips),
             "skipped": [s for _, _, out in results for s in out["skipped"]]}
    for (rev, ds, out), emb in zip(results, embeddings):
        idx = np.asarray(out["index"], dtype=int)
        rows = ds.rows.take(pa.array(idx, pa.int64())) if len(idx) else ds.rows.slice(0, 0)
        table = pa.table({
            "clip_id": rows["clip_id"], "video_id": rows["video_id"], "split": rows["split"],
            "label": rows["label"],
            **{k: pa.array(out[k], pa.float32()) for k in OUTPUT_COLUMNS},
            "pred": pa.array(out["pred"], pa.int32()),
            "probs": _embedding_array(np.stack(out["probs"]) if out["probs"] else np.zeros((0, n_classes)), n_classes,
                                      np.float32),
            "embedding": _embedding_array(emb, dim),
            "map_x": pa.array(xy[offset:offset + len(idx), 0], pa.float32()),
            "map_y": pa.array(xy[offset:offset + len(idx), 1], pa.float32()),
        })
        offset += len(idx)
        name = str(CollectionKey.of(rev, tag, home=home))
        runs.write_collection(run, name, table)
        tables[name] = table
    _plot_maps(runs, run, tables, classes, tag)
    return tables, stats


def _plot_maps(runs, run: str, tables: dict[str, pa.Table], classes: list[str], tag: str) -> None:
    merged = pa.concat_tables(list(tables.values()))
    if merged.num_rows == 0:
        return
    xy = np.stack([merged["map_x"].to_numpy(), merged["map_y"].to_numpy()], axis=1)
    labels = np.array([classes[v] if v is not None and v >= 0 else "unlabelled"
                       for v in merged["label"].to_pylist()], dtype=object)
    suffix = f"-{tag}" if tag else ""
    runs.write_file(run, f"plots/map_label{suffix}.png",
                   plot_map(xy, labels, "embedding map by label", categorical=True))
    loss = merged["loss"].to_numpy(zero_copy_only=False)
    known = ~np.isnan(loss)
    if known.any():
        runs.write_file(run, f"plots/map_loss{suffix}.png",
                       plot_map(xy[known], loss[known], "embedding map by loss", categorical=False))


def collected_revisions(ws, revision) -> list:
    """What a run's collection pass covers: the training revision and, when its task has one (Nexar), the test
    table at head."""
    task = ws.task(revision.dataset)
    test = task.head(ws.tables, TEST) if task.has(TEST) and revision.table != task.table(TEST) else None
    return [revision] + ([test] if test is not None else [])


def collect_run(predictor, ws, runs, record, tag: str = "") -> None:
    """The end-of-run (or every-K-epochs) collection over the training revision and the test table."""
    fault_point("train.collect")
    revision = record.trained_on(ws.tables)
    tables, stats = collect_tables(predictor, ws, runs, record.run, collected_revisions(ws, revision),
                                   home=record.inputs.dataset, classes=record.classes, seed=record.config["seed"],
                                   tag=tag)
    if predictor.d.is_main:
        record.collections.update({name: {"rows": t.num_rows, "epoch": len(record.epochs)}
                                   for name, t in tables.items()})
        record.inference_ms_per_clip = round(stats["ms_per_clip"], 3)
        runs.write_record(record.run, record)


# the tag of a run's collection of its start's features (`collect_start`); "start" named an earlier one of the
# train clips alone, which the probe's val videos lack
START = "start-labelled"


def collect_start(ws, run: str, progress: bool = True) -> str | None:
    """The features of the run's train and val clips as its start saw them (the starting weights, before training
    on the labels): clip_id, video_id, split, embedding, kept as the run's collection `<table>@<rev>-start-labelled`.
    Returns its name; None where the start cannot be rebuilt (`start_predictor`)."""
    from curation.train.predict import start_predictor
    from curation.train.setup import split_filters

    record = ws.runs.record(run)
    predictor = start_predictor(record, progress)
    if predictor is None:
        return None
    revision = record.trained_on(ws.tables)
    train, val = split_filters(record.config.get("fold"))
    dataset = predictor.dataset(ws, revision, where=train | val)
    out = predictor.predict(dataset, "start features")
    rows = dataset.rows.take(pa.array(out["index"], pa.int64()))
    table = pa.table({"clip_id": rows["clip_id"], "video_id": rows["video_id"], "split": rows["split"],
                      "embedding": _embedding_array(out["embedding"], predictor.feature_dim)})
    name = str(CollectionKey.of(revision, START, home=record.inputs.dataset))
    ws.runs.write_collection(run, name, table)
    return name


def collect(ws, run_ref: str, table_ref: str, checkpoint: str = "best", progress: bool = True) -> str:
    """Run a finished run's checkpoint over any table revision (`curate collect`); returns the collection name."""
    from curation.train.predict import load_predictor

    predictor, record, _ = load_predictor(ws, run_ref, checkpoint, progress)
    tables, _ = collect_tables(predictor, ws, ws.runs, record.run, [ws.resolve(table_ref)],
                               home=record.inputs.dataset, classes=record.classes,
                               seed=record.config["seed"], tag=checkpoint if checkpoint != "best" else "")
    name = next(iter(tables))
    record.collections[name] = {"rows": tables[name].num_rows, "checkpoint": checkpoint}
    ws.runs.write_record(record.run, record)
    return name
