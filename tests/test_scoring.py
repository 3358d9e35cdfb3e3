"""A task scores its predictions once (Task.score), against the targets of the videos revision the run pinned:
re-evaluating or comparing a run after the videos table was edited gives the score it had."""
import numpy as np
import pyarrow.compute as pc

from curation.review.compare import pinned_set
from curation.tables import Edit
from curation.tables.commit import commit_edit
from curation.task import VIDEOS
from curation.train.evaluate import evaluate
from curation.workspace import Workspace


def test_editing_the_videos_table_after_a_run_does_not_move_its_score(reviewed_ws):
    ws = Workspace.open(reviewed_ws)
    run = ws.runs.resolve("last")
    record = ws.runs.record(run)
    task = ws.task(record.inputs.dataset)
    pinned = task.head(ws.tables, VIDEOS)
    assert record.inputs.videos["revision"] == pinned.number
    before = evaluate(ws, run, split="val", checkpoint="last", progress=False)
    compared = pinned_set(ws, [run])

    # every val video's target flipped in a new videos revision
    label = ws.tables.spec(pinned.dataset, pinned.table).label_column
    videos = ws.tables.read(pinned, ["video_id", "split", label]).filter(pc.field("split") == "val")
    flips = {v: 1 - t for v, t in zip(videos["video_id"].to_pylist(), videos[label].to_pylist())}
    head = commit_edit(ws.tables, pinned, Edit(labels=flips), "flip the val targets").revision
    assert head.number == pinned.number + 1

    after = evaluate(ws, run, split="val", checkpoint="last", progress=False)
    assert after["metrics"] == before["metrics"]
    again = pinned_set(ws, [run])
    assert np.array_equal(again.targets.video_targets, compared.targets.video_targets)

    # the head's targets would have scored it otherwise: the pin is what kept the score
    rows = ws.tables.read(record.trained_on(ws.tables)).filter(task.scored(pc.field("split") == "val"))
    rows = rows.sort_by("clip_id")
    collection = ws.runs.collection(run, str(record.training_collection()))
    prob_of = dict(zip(collection["clip_id"].to_pylist(), collection["prob"].to_pylist()))
    probs = np.array([prob_of[c] for c in rows["clip_id"].to_pylist()])
    at_pin = task.score(task.targets(ws.tables, rows, pinned), probs)
    at_head = task.score(task.targets(ws.tables, rows, head), probs)
    assert at_pin["n_positive_videos"] != at_head["n_positive_videos"]
    assert at_pin["mAP"] == task.score(compared.targets, probs)["mAP"]
