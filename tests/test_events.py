"""Time as a label: event times from score curves, matched to labelled ones within tolerances (known curves with
known answers), and whole-video prediction through the real command on a trained run (Nexar) and an events
dataset."""
import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from conftest import (CHROMIUM, assert_the_index_proposes_what_every_distance_does, curate, events_source,
                      misplace_a_label, needs_chromium, pass_the_learning_check, tiny_synth, watched_page)
from curation.events.curves import window_ends
from curation.events.predict import predict_events
from curation.events.times import event_metrics, fit_picker, match_times, onsets, pick_peaks
from curation.events.timing import misplaced_times
from curation.ingest.layouts import read_nexar
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.retime import retime
from curation.workspace import Workspace

LABELLED = {"a": [1.0, 3.0], "b": [2.2], "c": []}


def _curve(events, shift=0.0, duration=4.0, fps=30.0, width=0.15):
    """A score curve with one bump per event, peaking `shift` seconds after it."""
    t = np.arange(int(duration * fps)) / fps
    s = np.zeros_like(t)
    for e in events:
        s = np.maximum(s, np.exp(-0.5 * ((t - e - shift) / width) ** 2))
    return t, s


@pytest.mark.parametrize("shift", [0.0, 0.4, -0.8])
def test_a_curve_peaking_at_the_labelled_times_scores_f1_one_and_a_shifted_one_its_shift(shift):
    predicted = {v: pick_peaks(*_curve(times, shift), threshold=0.5, min_gap_s=0.5) for v, times in LABELLED.items()}
    m = event_metrics(predicted, LABELLED)
    for tol in (0.25, 0.5, 1.0):
        expected = 1.0 if abs(shift) <= tol else 0.0
        assert m[f"event_f1@{tol:g}s"] == pytest.approx(expected), (tol, m)
    assert m["event_mae_s"] == pytest.approx(abs(shift), abs=1 / 30 + 1e-9)
    assert m["event_matched"] == 3


def test_matching_is_one_to_one_with_the_most_pairs_then_the_smallest_error():
    # closest-first would pair 1.3 with 1.2 and leave both 1.0 and 1.5 alone; two pairs exist within 0.25 s
    m = match_times([1.0, 1.3], [1.2, 1.5], 0.25)
    assert (m.matched, m.predicted, m.labelled) == (2, 2, 2) and sum(m.errors) == pytest.approx(0.4)
    assert match_times([1.0, 1.05], [1.0], 0.25).matched == 1  # a second detection of one event is a false alarm
    m = event_metrics({"a": [1.0, 1.05, 3.0]}, {"a": [1.0, 3.0], "b": [2.0]}, (0.5,))
    assert (m["event_precision@0.5s"], m["event_recall@0.5s"]) == pytest.approx((2 / 3, 2 / 3))


def test_peaks_keep_the_higher_of_two_closer_than_the_gap_and_onsets_find_each_rise():
    t = np.arange(10) * 0.1
    s = np.array([0, 0.6, 0.9, 0.6, 0.7, 0.2, 0, 0.8, 0.8, 0])
    assert pick_peaks(t, s, 0.5, min_gap_s=0.25) == pytest.approx([0.2, 0.7])  # 0.4 is within 0.25 s of 0.2
    assert pick_peaks(t, s, 0.5, min_gap_s=0.1) == pytest.approx([0.2, 0.4, 0.7])
    assert onsets(t, s, 0.5) == pytest.approx([0.1, 0.7])
    assert window_ends(20, 6, 4) == [6, 10, 14, 18, 19] and window_ends(5, 6, 4) == []


def test_a_label_the_curve_disagrees_with_is_moved_to_the_peak_after_the_models_lag_is_taken_off():
    """Ten videos whose curves peak 0.3 s after their true event (the model's lag); two labels are wrong: one
    1.2 s early, one event of two 0.9 s late. Only those two are proposed, each to its true time."""
    true = {f"v{i}": [1.0 + 0.2 * i] for i in range(10)}
    true["v9"] = [1.0, 4.5]
    labelled = {**true, "v3": [true["v3"][0] - 1.2], "v9": [1.0, 4.5 + 0.9]}
    curves = {v: _curve(times, shift=0.3, duration=7.0) for v, times in true.items()}
    predicted = {v: pick_peaks(*c, threshold=0.5, min_gap_s=0.5) for v, c in curves.items()}
    moves, lag = misplaced_times(curves, predicted, labelled)
    assert lag == pytest.approx(0.3, abs=1 / 30 + 1e-9)
    assert sorted((m.video_id, m.labelled) for m in moves) == [("v3", pytest.approx(0.4)), ("v9", 5.4)]
    for m in moves:
        truth = min(true[m.video_id], key=lambda t: abs(t - m.labelled))
        assert m.suggested == pytest.approx(truth, abs=1 / 30 + 1e-9)
        assert m.at_suggested == pytest.approx(1.0, abs=0.01) and m.at_label < 0.05 and m.certainty > 0.9
    far = {**labelled, "v3": [true["v3"][0] - 4.0]}  # no peak within the search radius: left alone
    assert "v3" not in {m.video_id for m in misplaced_times(curves, predicted, far)[0]}
    assert misplaced_times(curves, predicted, true)[0] == []  # right labels: nothing to move


def test_nexar_events_are_the_curves_rises_moved_by_the_median_rise_to_event_time():
    """A Nexar model's curve rises 0.4 s after the alert (1.5 s before the event) and stays high past the event for
    as long as the video shows the wreck (dipping and rising again after it): its peaks land anywhere on the
    plateau, its first held rise 1.1 s before the event. The picker fitted on these videos finds every event
    there and nothing else (not the rise after a dip, not a negative's one-window blip); peaks miss most."""
    rng = np.random.default_rng(1)
    t = np.arange(30, 300) / 30
    events = {f"v{i}": 4.0 + 0.3 * i for i in range(12)}
    curves = {}
    for v, event in events.items():
        rise = 1 / (1 + np.exp(-(t - (event - 1.1)) * 25))
        fall = 1 / (1 + np.exp((t - (event + rng.uniform(0.3, 4.0))) * 25))
        score = rise * fall + rng.normal(0, 0.01, len(t))
        score[(t > event + 0.8) & (t < event + 1.4)] = 0.05  # untaught after the event: a dip, then high again
        curves[v] = (t, np.clip(score, 0, 1))
    blip = np.clip(rng.normal(0.05, 0.01, len(t)), 0, 1)
    blip[100] = 0.95  # one window above any threshold: not a rise the model holds
    curves["neg"] = (t, blip)
    labelled = {**{v: [e] for v, e in events.items()}, "neg": []}
    picker = fit_picker(curves, labelled, 1.0, by_onsets=True)
    assert 0.85 <= picker.offset_s <= 1.15  # half height 1.1 s before the event; a higher threshold is crossed later
    found = event_metrics({v: picker.times(*c) for v, c in curves.items()}, labelled)
    assert found["event_f1@0.25s"] == 1.0 and found["event_mae_s"] < 0.05
    assert "rises above" in picker.describe("val") and f"{picker.offset_s:+.2f} s" in picker.describe("val")
    peaks = fit_picker(curves, labelled, 1.0)
    assert peaks.offset_s is None
    assert event_metrics({v: peaks.times(*c) for v, c in curves.items()}, labelled)["event_f1@0.5s"] < 0.6


def test_a_nexar_label_is_moved_to_where_its_clip_label_pattern_fits_a_plateau_curve():
    """Curves that rise 0.6 s after the alert and stay high past the event for as long as the video shows the wreck
    (0.3 s to the end of the video: a Nexar model never saw a clip after the event), so peaks and the curve's fall
    say nothing. Ten videos, two labelled wrong (1.2 s early, 0.9 s late, alert and event alike), one whose curve
    fits no shift: only the two are proposed, each to its true time, with the model's lag measured. The label
    pattern says nothing after the event (NaN), as `label_patterns` builds it."""
    rng = np.random.default_rng(0)
    fps, lag = 30.0, 0.6
    t = np.arange(int(1.0 * fps), int(8.0 * fps)) / fps  # window end times
    ends = np.arange(1.0, 8.0, 0.27)  # the clips' end times
    true = {f"v{i}": 4.0 + 0.2 * i for i in range(10)}
    labelled = {**true, "v3": true["v3"] - 1.2, "v7": true["v7"] + 0.9}
    wreck = dict(zip(true, rng.uniform(0.3, 4.0, len(true))))  # how long each curve stays high after the event

    def plateau(video, event):
        rise = 1 / (1 + np.exp(-(t - (event - 1.2 + lag)) * 20))
        fall = 1 / (1 + np.exp((t - (event + wreck[video])) * 20))
        return rise * fall

    def pattern(event):
        return ends, np.where(ends <= event, ((ends >= event - 1.2) & (ends <= event)).astype(float), np.nan)

    curves = {v: (t, np.clip(plateau(v, e) + rng.normal(0, 0.03, len(t)), 0, 1)) for v, e in true.items()}
    curves["v9"] = (t, np.full(len(t), 0.5))  # a curve no shift fits: no evidence
    moves, found_lag = misplaced_times(curves, {}, {v: [e] for v, e in labelled.items()},
                                       patterns={v: pattern(e) for v, e in labelled.items()})
    assert found_lag == pytest.approx(lag, abs=0.1)
    assert sorted(m.video_id for m in moves) == ["v3", "v7"] and {m.by for m in moves} == {"pattern"}
    for m in moves:
        # within half the clips' spacing (the pattern's resolution) and a frame
        assert m.suggested == pytest.approx(true[m.video_id], abs=0.27 / 2 + 1 / 30)
        assert m.labelled == labelled[m.video_id]
        assert m.at_suggested < 0.05 and m.at_label > 3 * m.at_suggested  # a fit that explains the curve
        assert m.certainty == pytest.approx(m.at_label - m.at_suggested, abs=1e-3)
    right = {v: pattern(e) for v, e in true.items()}
    assert misplaced_times(curves, {}, {v: [e] for v, e in true.items()}, patterns=right)[0] == []


def test_predict_events_on_a_nexar_run_stores_every_window_and_scores_its_val_videos(reviewed_ws, monkeypatch):
    from curation.events.stored import video_events

    before = Workspace.open(reviewed_ws)
    first = sorted(before.tables.read(before.resolve("clips@1"), ["video_id"])["video_id"].to_pylist())[0]
    assert video_events(before, before.runs.resolve("last"), first) is None  # nothing scanned yet
    from curation.review.suggest import timing_issues

    notes = []
    assert timing_issues(before, before.runs.resolve("last"), notes) == [] and "times not checked" in notes[0]
    proc = curate("-w", reviewed_ws, "predict-events", "--min-gap", "0.5", "--step", "6")
    assert proc.returncode == 0, proc.stderr
    ws = Workspace.open(reviewed_ws)
    run = ws.runs.resolve("last")
    record = ws.runs.record(run)
    trained = record.trained_on(ws.tables)
    result = record.evaluations[f"events:{trained.table}@{trained.number}"]
    curves = ws.runs.curves(run, f"{trained.table}@{trained.number}")
    task = ws.task(trained.dataset)
    videos = {v["video_id"]: v for v in ws.tables.read(task.head(ws.tables, "videos")).to_pylist()}
    clip = task.options["clip"]
    for video_id, mine in curves.to_pandas().groupby("video_id"):  # every window of every video, once
        v = videos[video_id]
        stride = clip["stride"] or max(1, round(clip["span_s"] * v["fps"] / clip["n_frames"]))
        assert mine["end_frame"].tolist() == window_ends(v["n_frames"], (clip["n_frames"] - 1) * stride, 6)
        assert ((mine["score"] >= 0) & (mine["score"] <= 1)).all()
    in_table = set(ws.tables.read(trained, ["video_id"])["video_id"].to_pylist())  # not the test table's videos
    ok = {v for v, row in videos.items() if row["status"] == "ok" and v in in_table}
    assert set(curves["video_id"].to_pylist()) == ok - {s[0] for s in result["skipped"]}
    # the printed figures are the library's, recomputed here from the stored curves and the videos' times
    val = {v: [row["time_of_event"]] if row["target"] == 1 else [] for v, row in videos.items()
           if row["split"] == "val" and v in result["predicted"]}
    expected = event_metrics({v: result["predicted"][v] for v in val}, val)
    assert result["metrics"]["val"]["event_f1@0.5s"] == pytest.approx(expected["event_f1@0.5s"])
    assert f"F1@0.5s {expected['event_f1@0.5s']:.3f}" in proc.stdout and "(threshold chosen here)" in proc.stdout
    shown = video_events(ws, run, first)  # what the dashboard's clip viewer draws: the stored curve, the times
    mine = curves.filter(pc.field("video_id") == first).sort_by("time_s")
    assert [t for t, _ in shown["curve"]] == pytest.approx(mine["time_s"].to_pylist(), abs=1e-4)
    assert shown["predicted"] == result["predicted"][first] and shown["threshold"] == result["threshold"]
    page = ws.runs.read_file(run, f"events-{trained.table}@{trained.number}.html").decode()
    assert result["report"].endswith(f"events-{trained.table}@{trained.number}.html") and "timelines:" in proc.stdout
    assert page.count('<section class="video"') == len(result["predicted"])  # a timeline per video
    assert page.count('class="labelled"') == sum(row["target"] == 1 for v, row in videos.items()
                                                 if v in result["predicted"])
    assert page.count('class="predicted"') == sum(map(len, result["predicted"].values()))
    df = curves.to_pandas()
    assert result["offset_s"] is not None and "rises above" in result["picked"]  # Nexar: events at the rises
    for v, times in result["predicted"].items():  # each predicted time is a rise above the threshold, moved
        mine = df[df.video_id == v].sort_values("time_s").reset_index(drop=True)
        for t in times:
            k = (mine.time_s - (t - result["offset_s"])).abs().idxmin()
            assert mine.score[k] >= result["threshold"] - 1e-6 and (k == 0 or mine.score[k - 1] < result["threshold"])
    # a curve that follows a video's labels 0.8 s off, where every other follows its own: proposed to move there
    from curation.review.suggest import suggest

    moved, where = misplace_a_label(ws, run)
    found = suggest(ws, run)  # this run did not learn: it proposes no times, as it proposes no labels
    assert "did not learn" in found.notes[0] and not [s for s in found if s.signal == "timing"]
    retimes = {s.id: s for s in timing_issues(ws, run, [])}  # what suggest adds from a run that learned
    assert list(retimes) == [moved] and retimes[moved].action == "retime" and retimes[moved].level == "video"
    assert float(retimes[moved].value) == pytest.approx(where, abs=6 / 30 + 1e-3)  # within a window step
    assert "label pattern" in retimes[moved].reason and "lag of +0.00 s" in retimes[moved].reason
    pass_the_learning_check(ws, run)  # the record says it learned: suggest adds the retime
    shown = {s.id: s for s in suggest(ws, run) if s.signal == "timing"}  # the same retime; another signal on the
    # video (if any) only named in its reason
    assert list(shown) == [moved] and (shown[moved].action, shown[moved].value) == ("retime", retimes[moved].value)
    assert shown[moved].reason.startswith(retimes[moved].reason)
    assert_the_index_proposes_what_every_distance_does(ws, run, monkeypatch)  # with a retime among them

    # another dataset's videos (a hold-out set) are read at its head, not at the revision number this run pinned
    ingest(ws, read_nexar(tiny_synth(reviewed_ws.parent / "other", seed=3, n_train=4, n_test=0)), "other",
           IngestOptions(frame_size=32), progress=False)
    positive = next(v for v in ws.tables.read(ws.tables.head("other", "videos")).to_pylist() if v["target"] == 1)
    retime(ws, "other", {positive["video_id"]: [(None, positive["time_of_event"] - 0.77)]})
    result = predict_events(ws, run, "other/clips@latest", step_frames=8, progress=False)
    page = Path(result["report"]).read_text()
    assert f"labelled {positive['time_of_event'] - 0.77:.2f} s" in page
    assert f"labelled {positive['time_of_event']:.2f} s" not in page


@pytest.mark.slow
def test_evaluate_prints_event_times_for_an_events_dataset_unless_told_not_to(prebuilt, tmp_path):
    ws_dir = tmp_path / "ws"
    assert curate("-w", ws_dir, "ingest", "events", events_source(prebuilt, tmp_path / "data"), "--frame-size", "32",
                  "--clip-seconds", "1").returncode == 0
    assert curate("-w", ws_dir, "train", "--model", "mvit_tiny", "--weights", "none", "--epochs", "1", "--workers",
                  "0", "--batch-size", "4", "--draws", "8").returncode == 0
    proc = curate("-w", ws_dir, "evaluate", "--split", "val")
    assert proc.returncode == 0, proc.stderr
    assert "event times on 6 whole videos" in proc.stdout and "  val: F1@0.25s" in proc.stdout
    ws = Workspace.open(ws_dir)
    record = ws.runs.record(ws.runs.resolve("last"))
    result = next(r for k, r in record.evaluations.items() if k.startswith("events:"))
    assert set(result["metrics"]) == {"train", "val"}
    assert json.dumps(result["metrics"])  # JSON-safe as recorded
    assert "event times" not in curate("-w", ws_dir, "evaluate", "--split", "val", "--no-events").stdout


@pytest.mark.slow
@needs_chromium
def test_the_timelines_page_opens_in_chromium_without_console_errors(reviewed_ws):
    from playwright.sync_api import sync_playwright

    assert curate("-w", reviewed_ws, "predict-events", "--step", "8").returncode == 0
    ws = Workspace.open(reviewed_ws)
    record = ws.runs.record(ws.runs.resolve("last"))
    result = next(r for k, r in record.evaluations.items() if k.startswith("events:"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page, errors = watched_page(browser)
        page.goto(Path(result["report"]).as_uri())
        assert page.locator("section.video svg polyline").count() == len(result["predicted"])
        box = page.locator("section.video svg").first.bounding_box()
        assert box["width"] > 600 and box["height"] > 80  # drawn, not collapsed
        browser.close()
    assert errors == []


def test_counts_per_video_summed_over_any_draw_give_that_draws_f1():
    from curation.events.times import f1_of_counts, video_counts

    predicted = {"a": [1.0, 1.05, 3.0], "b": [0.4], "c": [2.0]}
    labelled = {"a": [1.0, 3.0], "b": [2.0], "c": [], "d": [1.5]}
    videos = sorted(labelled)
    counts = video_counts(predicted, labelled, videos, 0.5)
    for draw in (["a", "b", "c", "d"], ["a", "a", "d"], ["b", "c"]):
        rows = [videos.index(v) for v in draw]
        truth = event_metrics({f"{v}{k}": predicted.get(v, []) for k, v in enumerate(draw)},
                              {f"{v}{k}": labelled[v] for k, v in enumerate(draw)}, (0.5,))["event_f1@0.5s"]
        assert f1_of_counts(counts[rows].sum(0)) == pytest.approx(truth)
