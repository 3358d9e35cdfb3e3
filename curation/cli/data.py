"""Commands that make and read datasets: `synth`, `ingest <layout>`."""
from __future__ import annotations

import math
from pathlib import Path

import click

from curation.cli.app import cli, given_options, open_workspace
from curation.errors import BadInput


@cli.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--layout", type=click.Choice(["nexar", "folders"]), default="nexar", show_default=True,
              help="nexar: dashcam collision prediction (train.csv/test.csv); folders: action recognition in class "
                   "folders, train/<class>/<video> and test/<class>/<video> (a plain <class>/<video> tree with --test 0).")
@click.option("--classes", "n_classes", default=10, show_default=True,
              help="folders: number of classes (2-50), in look-alike pairs that differ by one subtle cue.")
@click.option("--train", "n_train", default=None, type=int, help="Number of train videos [nexar 100, folders 200].")
@click.option("--test", "n_test", default=None, type=int, help="Number of test videos [nexar 30, folders 60].")
@click.option("--width", default=None, type=int, help="Frame width [nexar 320, folders 112].")
@click.option("--height", default=None, type=int, help="Frame height [nexar 180, folders 112].")
@click.option("--duration", default=None, metavar="S|LO-HI",
              help="Train video length in seconds [nexar 8; folders 2.5-4.5, drawn per video].")
@click.option("--test-duration", default=None, metavar="S|LO-HI",
              help="Test video length in seconds [nexar 6, positives ending 0.5/1.0/1.5 s before the event; "
                   "folders 2.4-3].")
@click.option("--label-noise", default=0.0, show_default=True, help="Fraction of train labels made wrong.")
@click.option("--noise-model", type=click.Choice(["uniform", "class-conditional", "instance"]), default="uniform",
              show_default=True,
              help="How labels go wrong. uniform: at random, whatever the video shows; class-conditional: each class "
                   "mistaken for its look-alike at its own rate (nexar: missed collisions likelier than invented "
                   "ones); instance: the videos that are hard to read are the ones mislabelled (folders: occluded, "
                   "slow, small, a faint cue; nexar: near misses marked positive, hard-to-see positives negative).")
@click.option("--hard-cases", default=0.0, show_default=True,
              help="nexar: share of the negatives that are near misses or cut-ins that do not collide, and of the "
                   "positives that are hard to see (dusk light, a dark vehicle).")
@click.option("--duplicates", "n_duplicates", default=0, show_default=True,
              help="Near-duplicate videos (about half of them leak into test).")
@click.option("--corrupt", "n_corrupt", default=0, show_default=True,
              help="Broken train files: truncated, empty, text named .mp4.")
@click.option("--time-noise", default="0", show_default=True, metavar="S|LO-HI",
              help="nexar: seconds the labelled event and alert times of a mis-timed video move (either way): S, or "
                   "a range LO-HI drawn from uniformly.")
@click.option("--time-noise-share", default=0.0, show_default=True,
              help="nexar: share of the rightly labelled train positives whose times are moved (the truth goes to "
                   "ground_truth.json).")
@click.option("--seed", default=0, show_default=True)
def synth(out, layout, n_classes, time_noise, duration, test_duration, **kwargs):
    """Write a synthetic dataset to OUT, with what a real one has wrong.

    nexar: positives show a vehicle that approaches and collides; negatives show traffic that does not.
    folders: each class a motion of a shape (a disc orbiting, a bar spinning, ...), with per-video nuisance
    (background, camera pan, light, speed, size, occlusion, distractors, length).
    What is hidden from the labels (flips and their causes, duplicates, corrupt files, test labels) goes to
    OUT/ground_truth.json, which ingest never reads.
    """
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if layout == "folders":
        from curation.synth_actions import generate_actions

        for name in ("time_noise_share", "hard_cases"):
            if kwargs.pop(name):
                raise BadInput(f"--{name.replace('_', '-')} is for the nexar layout", "leave it out with --layout folders")
        if time_noise != "0":
            raise BadInput("--time-noise is for the nexar layout", "leave it out with --layout folders")
        ranges = {k: _seconds_range(v) for k, v in (("duration_s", duration), ("test_duration_s", test_duration)) if v}
        summary = generate_actions(out, n_classes=n_classes, **ranges, **kwargs)
        click.echo(f"wrote {summary['n_train']} train + {summary['n_test']} test videos of {n_classes} classes to {out} "
                   f"in {summary['seconds']:.1f} s ({summary['n_flipped']} labels wrong)")
        return
    from curation.synth import generate

    for name, text in (("duration_s", duration), ("test_duration_s", test_duration)):
        if text is not None:
            low, high = _seconds_range(text)
            if low != high:
                raise BadInput(f"nexar videos have one length, not {text}", "give one number of seconds")
            kwargs[name] = low
    summary = generate(out, time_noise=_seconds_range(time_noise), **kwargs)
    click.echo(f"wrote {summary['n_train']} train + {summary['n_test']} test videos to {out} "
               f"in {summary['seconds']:.1f} s"
               + (f" ({summary['n_retimed']} mis-timed)" if summary["n_retimed"] else ""))


def _seconds_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        return float(low), float(high or low)
    except ValueError:
        raise BadInput(f"{text!r} is not S or LO-HI seconds", "give e.g. 3 or 2.5-4.5") from None


def _ingest_options(f):
    options = [
        click.option("--name", help="Dataset name (default: nexar, or the folder / CSV name)."),
        click.option("--val-fraction", default=0.2, show_default=True,
                     help="Fraction of labelled videos held out for validation (grouped by video, stratified)."),
        click.option("--split", "split_shares", metavar="TRAIN,VAL,TEST",
                     help="Shares of the labelled videos, e.g. 0.7,0.15,0.15 (grouped and stratified; class layouts): "
                          "the test share is held out for `curate evaluate`. Overrides --val-fraction."),
        click.option("--folds", default=0, show_default=True,
                     help="Write a fold column with K folds instead (fold 0 is the default val split)."),
        click.option("--clip-frames", default=16, show_default=True, help="Frames per clip."),
        click.option("--clip-seconds", default=2.0, show_default=True,
                     help="Seconds a clip spans; the stride follows each video's own fps."),
        click.option("--stride", default=0, show_default=True, help="Fixed frame stride (0: from --clip-seconds)."),
        click.option("--anchor-every", default=0, show_default=True,
                     help="A clip ends every N frames (0: twice the stride, so clips share cached frames)."),
        click.option("--frame-size", default=256, show_default=True,
                     help="Cached frames are squashed to S×S. Training at a smaller size? A cache about 8/7 of it "
                     "(128 for 112-px clips) reads several times faster and takes less disk."),
        click.option("--seed", default=0, show_default=True, help="Seed of the validation split / folds."),
        click.option("--discard-edits", is_flag=True,
                     help="On re-ingest, register the source as it is instead of carrying your edits (deletes, "
                          "weights, relabels made since the last ingest) forward by id."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Processes that probe, decode and encode videos [default: one per core]. The tables do "
                          "not depend on it; memory holds about two videos' frames per worker."),
        click.option("--ray", "ray_address", metavar="ADDRESS",
                     help="Probe and decode on a Ray cluster instead (`auto`, `ray://HOST:10001`; `local` starts a "
                          "Ray instance on this machine). Needs the distributed extra, and the videos and the "
                          "workspace on a file system every node sees."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _event_windows(f):
    options = [
        click.option("--alpha", default=0.1, show_default=True,
                     help="A positive clip ends at most this fraction of the gap to the previous event before an "
                          "event."),
        click.option("--beta", default=0.1, show_default=True,
                     help="… and at most this fraction of the gap to the next event after it."),
        click.option("--negatives-per-positive", default=3.0, show_default=True,
                     help="At most this many negative clips per positive one, per video (evenly spread)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _run_ingest(ctx, source, name, label_rule="alert", **kw):
    from curation.ingest.clips import ClipConfig
    from curation.ingest.pipeline import IngestOptions, ingest

    if kw["split_shares"] is not None:
        if conflicting := given_options(ctx, "folds", "val_fraction"):
            raise BadInput(f"--split sets the shares itself; it cannot go with {' or '.join(conflicting)}",
                           "give --split alone, or --folds K / --val-fraction F without it")
        val_fraction, test_fraction = _split_shares(kw["split_shares"])
    else:
        val_fraction, test_fraction = kw["val_fraction"], 0.0
    options = IngestOptions(clip=ClipConfig(kw["clip_frames"], kw["clip_seconds"], kw["stride"], kw["anchor_every"]),
                            label_rule=label_rule, val_fraction=val_fraction, test_fraction=test_fraction,
                            folds=kw["folds"], seed=kw["seed"], frame_size=kw["frame_size"])
    engine = None
    if kw["ray_address"]:
        from curation.ingest.ray_engine import RayEngine

        engine = RayEngine(None if kw["ray_address"] == "local" else kw["ray_address"], num_cpus=kw["workers"])
    result = ingest(open_workspace(ctx), source, name, options, discard_edits=kw["discard_edits"], workers=kw["workers"],
                    engine=engine)
    if result.unchanged:
        click.echo(f"{name}: input unchanged since the last ingest; no new revision "
                   f"({', '.join(f'{t}@{n}' for t, n in sorted(result.revisions.items()))})")
        return
    revs = ", ".join(f"{t}@{n}" for t, n in result.revisions.items())
    click.echo(f"{name}: registered {revs} in {result.seconds:.1f} s ({result.frames_decoded} frames decoded)")
    click.echo("videos: " + ", ".join(f"{k} {v}" for k, v in sorted(result.status.items())))
    for split, n in sorted(result.clips.items()):
        click.echo(f"clips {split}: {n}" + (f" ({result.positives.get(split, 0)} positive)"
                                             if result.positives is not None else ""))
    for vid, status, reason in result.problems:
        click.echo(f"  {status:<11} {vid}: {reason}")
    for vid, reason in result.warnings:
        click.echo(f"  {'warning':<11} {vid}: {reason}")
    for vid, what in result.timelines:
        click.echo(f"  {'timing':<11} {vid}: {what}; its times are read from its timestamps")
    for table, report in result.carried.items():
        _echo_carry(table, report)


def _split_shares(text: str) -> tuple[float, float]:
    """`0.7,0.15,0.15` → (val, test) shares; they must be three numbers adding up to 1."""
    try:
        shares = [float(x) for x in text.split(",")]
    except ValueError:
        shares = []
    if len(shares) != 3 or not all(math.isfinite(s) and s >= 0 for s in shares) or abs(sum(shares) - 1) > 1e-6 \
            or shares[0] <= 0:
        raise BadInput(f"--split {text!r} is not three shares adding up to 1", "use e.g. --split 0.7,0.15,0.15")
    return shares[1], shares[2]


def _echo_carry(table: str, report: dict) -> None:
    """What a re-ingest did with the user's edits of one table."""
    if report["discarded"]:
        click.echo(f"{table}: your edits since the last ingest were discarded (--discard-edits)")
        return
    counts = ", ".join(f"{k} {report[k]}" for k in ("deleted", "reweighted", "relabeled") if report[k])
    if counts:
        click.echo(f"{table}: carried your edits forward by id: {counts}")
    if report["gone"]:
        shown = ", ".join(report["gone_ids"][:5]) + (" …" if report["gone"] > 5 else "")
        click.echo(f"{table}: {report['gone']} edited id(s) are no longer in the source; those edits no longer "
                   f"apply: {shown}")
    for c in report["label_conflicts"][:10]:
        click.echo(f"{table}: {c['id']}: the source label changed from {c['source_was']} to {c['source_now']}; "
                   f"your relabel to {c['user']} is kept")
    if report["label_agreed"]:
        click.echo(f"{table}: the source now agrees with {report['label_agreed']} of your relabels")


@cli.group()
def ingest():
    """Register a dataset as versioned videos / frames / clips tables (frames decoded once into a cache)."""


@ingest.command("nexar")
@click.argument("root", type=click.Path())
@click.option("--label-rule", default="alert", show_default=True,
              help="'alert': clips ending between alert and event are positive; 'horizon:S': within S s before it.")
@_ingest_options
@click.pass_context
def ingest_nexar(ctx, root, name, label_rule, **kw):
    """Nexar layout: ROOT/train.csv, ROOT/test.csv, ROOT/train/<id>.mp4, ROOT/test/<id>.mp4."""
    from curation.ingest.layouts import read_nexar

    _run_ingest(ctx, read_nexar(root), name or "nexar", label_rule, **kw)


@ingest.command("folders")
@click.argument("root", type=click.Path())
@_ingest_options
@click.pass_context
def ingest_folders(ctx, root, name, **kw):
    """One sub-folder of videos per class (UCF50-style); labels are the folder names."""
    from curation.ingest.layouts import read_folders

    _run_ingest(ctx, read_folders(root), name or Path(root).resolve().name, **kw)


@ingest.command("manifest")
@click.argument("csv_path", metavar="CSV", type=click.Path())
@_ingest_options
@click.pass_context
def ingest_manifest(ctx, csv_path, name, **kw):
    """A CSV of path,label[,split][,start_s,end_s] (paths relative to the CSV's folder)."""
    from curation.ingest.layouts import read_manifest

    _run_ingest(ctx, read_manifest(csv_path), name or Path(csv_path).stem, **kw)


@ingest.command("kinetics-csv")
@click.argument("csv_path", metavar="CSV", type=click.Path())
@_ingest_options
@click.pass_context
def ingest_kinetics(ctx, csv_path, name, **kw):
    """Kinetics-style CSV, one row per video segment: label,youtube_id,time_start,time_end[,split][,path][,weight].
    Without a path column the videos are found under the CSV's folder by Kinetics' names
    (<youtube_id>_<start>_<end>.mp4, or <youtube_id>.<ext> cut to the segment's times)."""
    from curation.interop import read_kinetics

    _run_ingest(ctx, read_kinetics(csv_path), name or Path(csv_path).stem, **kw)


@ingest.command("hf")
@click.argument("path", type=click.Path())
@_ingest_options
@click.pass_context
def ingest_hf(ctx, path, name, **kw):
    """A Hugging Face dataset in Parquet (a folder, as `export --format hf` writes, or one file): a path column
    (video, path or video_path; relative to the folder) and a label column (ClassLabel or names); optional
    video_id, split (else from the shard names), weight. Rows of one video (its clips) make one video."""
    from curation.interop import read_hf

    _run_ingest(ctx, read_hf(path), name or Path(path).resolve().name.split(".")[0], **kw)


@ingest.command("fiftyone")
@click.argument("folder", type=click.Path())
@_ingest_options
@click.pass_context
def ingest_fiftyone(ctx, folder, name, **kw):
    """A FiftyOneTemporalDetectionDataset folder (data/ and labels.json): each video's temporal detections are
    its labelled clips (split, weight and video_id read from their attributes when present)."""
    from curation.interop import read_fiftyone

    _run_ingest(ctx, read_fiftyone(folder), name or Path(folder).resolve().name, **kw)


@ingest.command("events")
@click.argument("csv_path", metavar="CSV", type=click.Path())
@_event_windows
@_ingest_options
@click.pass_context
def ingest_events(ctx, csv_path, alpha, beta, negatives_per_positive, name, **kw):
    """Event timestamps (e.g. split-timer runs): a CSV of path,group,event_s, one row per event (several per
    video; a row with an empty event_s for a video without events). Clips near an event are positive, clips
    away from every event negative; splits keep each group (track, rider) together. Inspect the samples with
    `curate report --table clips`."""
    from curation.ingest.layouts import read_events

    _run_ingest(ctx, read_events(csv_path, alpha, beta, negatives_per_positive), name or Path(csv_path).stem, **kw)


@ingest.command("activitynet-json")
@click.argument("json_path", metavar="JSON", type=click.Path())
@_event_windows
@_ingest_options
@click.pass_context
def ingest_activitynet(ctx, json_path, alpha, beta, negatives_per_positive, name, **kw):
    """ActivityNet-style JSON ({"database": {VIDEO: {"subset", "annotations": [{"segment": [start, end]}]}}}) read
    as event timestamps: each segment's start is an event; clips as for `ingest events`. A video's file is its
    "path" key (relative to the JSON's folder), else VIDEO.mp4 beside the JSON."""
    from curation.interop import read_activitynet

    _run_ingest(ctx, read_activitynet(json_path, alpha, beta, negatives_per_positive),
                name or Path(json_path).stem, **kw)


@ingest.command("qa")
@click.argument("json_path", metavar="JSON", type=click.Path())
@click.option("--test", "test_json", type=click.Path(), help="The questions without answers (split test).")
@click.option("--context", default=0.5, show_default=True,
              help="Seconds of video on each side of a question's support frames.")
@_ingest_options
@click.pass_context
def ingest_qa(ctx, json_path, test_json, context, name, **kw):
    """Video QA (RoadBuddy layout): {"data": [{"id", "question", "choices", "answer", "support_frames",
    "video_path"}]}. Each question is a sample: one clip over its support frames (the whole video without them);
    the answer's letter is the label; question, choices and answer are columns."""
    from curation.ingest.layouts import read_qa

    _run_ingest(ctx, read_qa(json_path, test_json, context), name or Path(json_path).stem, **kw)
