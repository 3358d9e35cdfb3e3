"""Issue 43: frame times are the frames' own timestamps. Files are written with PyAV with known presentation times;
the times every check compares against are read back by decoding each file with PyAV (the frames' own `time`),
not from the code under test."""
import json
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import CHROMIUM, needs_chromium
from curation.frames.timeline import Timeline
from curation.frames.video import decode_frames, probe_video
from curation.ingest.pipeline import IngestOptions, ingest
from curation.workspace import Workspace

TWO_RATES = list(np.arange(150) / 30) + list(5 + np.arange(75) / 15)  # 5 s at 30 fps, then 5 s at 15 fps


def _write(path, times, *, bframes=0, start=0.0, rate=30, time_base=Fraction(1, 90000), size=(64, 48)):
    """Frame k is flat grey at level 3k (mod 256) and shown at `start` + times[k] seconds."""
    width, height = size
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = stream.codec_context.time_base = time_base
        stream.options = {"g": "12", "bf": str(bframes), "preset": "ultrafast", "crf": "10"}
        for k, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), (3 * k) % 256, np.uint8), format="rgb24")
            frame.pts, frame.time_base = int(round((start + t) / time_base)), time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def _shown_times(path) -> list[float]:
    """Every frame's presentation time by decoding the file, the first shown at 0."""
    with av.open(str(path)) as container:
        times = [float(f.time) for f in container.decode(video=0)]
    return [t - times[0] for t in times]


def _is_frame(frame: np.ndarray, k: int) -> bool:
    return abs(float(frame.mean()) - (3 * k) % 256) < 1.2


FILES = {
    "two rates": dict(times=TWO_RATES),
    "dropped frames": dict(times=[k / 30 for k in range(120) if k not in (20, 21, 22, 70)]),
    "start at 1.25 s": dict(times=list(np.arange(60) / 30), start=1.25),
    "B-frames": dict(times=list(np.arange(80) / 25), rate=25, bframes=2),
    "29.97 labelled 30": dict(times=list(np.arange(300) * 1001 / 30000), rate=30, time_base=Fraction(1, 1000)),
}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timelines")
    return {name: _write(folder / f"v{k}.{'mkv' if '29.97' in name else 'mp4'}", **kw)
            for k, (name, kw) in enumerate(FILES.items())}


@pytest.mark.parametrize("name", list(FILES))
def test_the_probe_reads_every_frames_time_and_says_what_is_odd(written, name):
    path = written[name]
    probe = probe_video(path)
    shown = _shown_times(path)
    assert probe.status == "ok" and probe.n_frames == len(shown)
    timeline = probe.timeline
    assert np.abs(timeline.times_of(range(len(shown))) - shown).max() < 1e-3
    found = " ".join(timeline.findings())
    expected = {"two rates": "variable frame rate", "dropped frames": "2 gaps of dropped frames",
                "29.97 labelled 30": "timestamps run at 29.97 fps"}
    if name in expected:
        assert expected[name] in found and not timeline.constant
    else:  # constant rate, whatever the start time or the decode order: kept as its rate
        assert timeline.constant and found == ""
    # frame k is the k-th shown, and the frame nearest a time is the one shown then
    picks = [0, len(shown) // 3, len(shown) - 1]
    assert all(_is_frame(f, k) for k, f in decode_frames(path, picks))
    for t in (0.51, 2.0, shown[-1] - 0.01):
        assert timeline.nearest(t) == int(np.argmin(np.abs(np.asarray(shown) - t)))


def test_a_timeline_at_a_constant_rate_is_the_old_arithmetic():
    """What made datasets of constant-rate videos keep their clips: k / fps and the old rounding, exactly."""
    timeline = Timeline.from_timestamps(np.arange(90) / 30 + 0.0001, 30.0)
    assert timeline.constant and timeline.time_of(45) == 45 / 30
    for t in (0.7, 1.1, 2.3, 2.95):
        assert timeline.nearest(t) == int(round(t * 30)) and timeline.last_at_or_before(t) == int(t * 30)
        assert timeline.last_before(t) == int(round(t * 30)) - 1
    two = Timeline.from_timestamps(TWO_RATES, 22.5)
    assert two.last_at_or_before(7.0) == 180 and two.last_before(7.0) == 179 and two.nearest(7.03) == 180
    assert abs(two.end_of(149) - 5.0) < 1e-9 and abs(two.end_of(224) - (TWO_RATES[-1] + 1 / 30)) < 1e-9


def _nexar_root(folder, path, event_s, alert_s):
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "v1.mp4").write_bytes(path.read_bytes())
    (folder / "train.csv").write_text(f"id,time_of_event,time_of_alert,target\nv1,{event_s},{alert_s},1\n")
    return folder


def _video_id(name: str) -> str:
    return name.replace(" ", "_").replace(".", "")


@pytest.fixture(scope="module")
def nexar_ingested(written, tmp_path_factory):
    """Every file as a positive video of one Nexar dataset (alert at half its length, event at 0.8), ingested by
    the command line with 4-frame clips of 0.5 s: (workspace, the command's output, video → (alert, event))."""
    from click.testing import CliRunner

    from curation.cli import cli

    root = tmp_path_factory.mktemp("nexar-timelines")
    (root / "train").mkdir()
    times, rows = {}, ["id,time_of_event,time_of_alert,target"]
    for name, path in written.items():
        video, last = _video_id(name), _shown_times(path)[-1]
        (root / "train" / f"{video}.mp4").write_bytes(path.read_bytes())  # an mkv's bytes: FFmpeg reads content
        times[video] = (round(last * 0.5, 2), round(last * 0.8, 2))
        rows.append(f"{video},{times[video][1]},{times[video][0]},1")
    (root / "train.csv").write_text("\n".join(rows) + "\n")
    ws = root / "ws"
    done = CliRunner().invoke(cli, ["--workspace", str(ws), "ingest", "nexar", str(root), "--frame-size", "32",
                                    "--clip-frames", "4", "--clip-seconds", "0.5", "--val-fraction", "0"])
    assert done.exit_code == 0, done.output
    return Workspace.open(ws), done.output, times


@pytest.mark.parametrize("name", list(FILES))
def test_clips_end_at_their_end_frames_time_and_are_labelled_by_it(written, nexar_ingested, name):
    ws, _, times = nexar_ingested
    video = _video_id(name)
    shown = _shown_times(written[name])
    alert, event = times[video]
    clips = [c for c in ws.tables.read(ws.resolve("nexar/clips")).to_pylist() if c["video_id"] == video]
    assert len(clips) >= 8
    for c in clips:
        assert abs(c["end_time_s"] - shown[c["end_frame"]]) < 1e-3, c
        assert shown[c["end_frame"]] <= event + 1e-6  # no clip ends after the event
        if alert <= shown[c["end_frame"]] <= event:
            assert c["label"] == 1, c
        else:
            assert c["label"] == 0, c
    frames = ws.tables.read(ws.resolve("nexar/frames"), ["video_id", "index", "time_s"]).to_pylist()
    assert all(abs(f["time_s"] - shown[f["index"]]) < 1e-3 for f in frames if f["video_id"] == video)
    row = next(v for v in ws.tables.read(ws.resolve("nexar/videos")).to_pylist() if v["video_id"] == video)
    assert row["vfr"] is (name == "two rates")
    assert abs(row["mean_fps"] - (len(shown) - 1) / shown[-1]) < 1e-3 * row["mean_fps"]


def test_ingest_names_the_odd_timelines_and_show_videos_has_the_rates(nexar_ingested):
    from click.testing import CliRunner

    from curation.cli import cli

    ws, output, _ = nexar_ingested
    timing = {line.split()[1].rstrip(":"): line for line in output.splitlines() if line.strip().startswith("timing")}
    assert sorted(timing) == sorted(map(_video_id, ["two rates", "dropped frames", "29.97 labelled 30"]))
    assert "variable frame rate" in timing["two_rates"] and "dropped frames" in timing["dropped_frames"]
    assert "timestamps run at 29.97 fps" in timing["2997_labelled_30"]  # constant-rate videos are not named
    shown = CliRunner().invoke(cli, ["--workspace", str(ws.root), "show", "videos", "--where", "vfr", "--csv"])
    assert shown.exit_code == 0, shown.output
    rows = shown.output.splitlines()
    header = rows[0].split(",")
    assert {"fps", "mean_fps", "vfr"} <= set(header) and "frame_times_s" not in header
    assert len(rows) == 2 and rows[1].startswith("two_rates,")


def test_a_support_frame_picks_the_frame_shown_nearest_its_time(written, tmp_path):
    from curation.ingest.layouts.qa import read_qa

    path = written["two rates"]
    shown = np.asarray(_shown_times(path))
    (tmp_path / "qa").mkdir()
    (tmp_path / "qa" / "v.mp4").write_bytes(path.read_bytes())
    asked = [1.01, 5.05, 7.05, 9.2]  # in the 30 fps half and in the 15 fps half
    items = [{"id": f"q{k}", "question": "which?", "choices": ["A. yes", "B. no"], "answer": "A. yes",
              "support_frames": [t], "video_path": "v.mp4"} for k, t in enumerate(asked)]
    (tmp_path / "qa" / "qa.json").write_text(json.dumps({"data": items}))
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_qa(tmp_path / "qa" / "qa.json", context_s=0.0), "qa", IngestOptions(frame_size=32, val_fraction=0),
           progress=False)
    clips = {c["clip_id"]: c for c in ws.tables.read(ws.resolve("qa/clips")).to_pylist()}
    for k, t in enumerate(asked):
        assert clips[f"q{k}"]["end_frame"] == int(np.argmin(np.abs(shown - t)))
        assert abs(clips[f"q{k}"]["end_time_s"] - shown[clips[f"q{k}"]["end_frame"]]) < 1e-3


def test_predict_events_curve_is_at_the_window_end_frames_times(written, reviewed_ws, tmp_path):
    """A run scans a two-rate video: each stored curve point sits at its window's end frame's own time."""
    from curation.events.predict import predict_events
    from curation.ingest.layouts.nexar import read_nexar

    path = written["two rates"]
    shown = _shown_times(path)
    ws = Workspace.open(reviewed_ws)
    ingest(ws, read_nexar(_nexar_root(tmp_path / "vfr", path, 7.0, 5.5)), "vfr", IngestOptions(frame_size=32),
           progress=False)
    run = ws.runs.resolve("last")
    predict_events(ws, run, "vfr/clips@latest", step_frames=4, progress=False)
    curve = ws.runs.curves(run, "vfr+clips@1").to_pylist()
    assert len(curve) > 20 and max(c["end_frame"] for c in curve) > 150  # windows in both halves
    assert all(abs(c["time_s"] - shown[c["end_frame"]]) < 1e-3 for c in curve)


@pytest.mark.slow
@needs_chromium
def test_the_dashboards_timeline_places_marks_at_timestamp_seconds(written, tmp_path):
    """The clip viewer on the two-rate file: the alert, the event and the clip's own mark sit where their seconds
    are on the chart's axis (a clip in the 15 fps half: by index / mean rate it would be 2 s late)."""
    from playwright.sync_api import sync_playwright

    from conftest import running_dashboard, watched_page
    from curation.ingest.layouts.nexar import read_nexar

    shown = _shown_times(written["two rates"])
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_nexar(_nexar_root(tmp_path / "nexar", written["two rates"], 7.0, 5.5)), "vfr",
           IngestOptions(frame_size=32, val_fraction=0), progress=False)
    clips = ws.tables.read(ws.resolve("vfr/clips")).to_pylist()
    clip = min((c for c in clips if c["end_frame"] > 150), key=lambda c: abs(shown[c["end_frame"]] - 6.5))
    with running_dashboard(ws.root) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page, errors = watched_page(browser, viewport={"width": 1500, "height": 1000})
        page.goto(url + "?layout=table")
        page.wait_for_selector("#grid tbody tr")
        page.fill("#where", f"clip_id == {json.dumps(clip['clip_id'])}")
        page.click("#filter-form button[type=submit]")
        page.wait_for_function("() => document.querySelectorAll('#grid tbody tr').length === 1")
        page.click("#grid tbody tr:nth-child(1) td:nth-child(3)")
        page.wait_for_selector("#timeline svg line", state="attached")
        x0, x1 = (float(page.get_attribute("#timeline svg", f"data-x{k}")) for k in (0, 1))
        width = float(page.get_attribute("#timeline svg", "width"))
        marks = page.eval_on_selector_all("#timeline svg line", "ls => ls.map((l) => Number(l.getAttribute('x1')))")
        names = page.eval_on_selector_all("#timeline svg text", "ts => ts.map((t) => t.textContent)")
        browser.close()
    at = {name: x for name, x in zip([n for n in names if n in ("alert", "event", "this clip")], marks)}
    seconds = {name: x0 + (x - 30) / (width - 40) * (x1 - x0) for name, x in at.items()}
    assert seconds["alert"] == pytest.approx(5.5, abs=0.01) and seconds["event"] == pytest.approx(7.0, abs=0.01)
    assert seconds["this clip"] == pytest.approx(shown[clip["end_frame"]], abs=0.01)
    assert abs(clip["end_frame"] / 22.5 - shown[clip["end_frame"]]) > 1  # what index / mean rate would have drawn
    assert errors == []



def test_exports_that_carry_times_write_the_frames_timestamps(written, tmp_path):
    """Kinetics' time_start/time_end of a clip on the two-rate file are its first frame's time and the end of its
    last frame (the next frame's time; the last frame's: one typical step on)."""
    import csv

    from curation.export import export
    from curation.ingest.layouts import read_folders

    path = written["two rates"]
    shown = _shown_times(path)
    for name in ("walk", "run"):
        (tmp_path / "data" / name).mkdir(parents=True)
        (tmp_path / "data" / name / f"{name}.mp4").write_bytes(path.read_bytes())
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_folders(tmp_path / "data"), "acts", IngestOptions(frame_size=32, val_fraction=0), progress=False)
    clips = {c["clip_id"]: c for c in ws.tables.read(ws.resolve("acts/clips")).to_pylist()}
    export(ws, "acts/clips", tmp_path / "k.csv", "kinetics-csv")
    rows = list(csv.DictReader((tmp_path / "k.csv").open()))
    assert len(rows) == len(clips) > 4
    late = 0
    for row, clip in zip(sorted(rows, key=lambda r: (r["youtube_id"], float(r["time_end"]))),
                         sorted(clips.values(), key=lambda c: (c["video_id"], c["end_frame"]))):
        first = clip["end_frame"] - (clip["n_frames"] - 1) * clip["stride"]
        assert float(row["time_start"]) == pytest.approx(shown[first], abs=1e-3)
        step = shown[clip["end_frame"] + 1] if clip["end_frame"] + 1 < len(shown) else shown[-1] + 1 / 30
        assert float(row["time_end"]) == pytest.approx(step, abs=1e-3)
        late += clip["end_frame"] > 150
    assert late  # clips in the 15 fps half, where index / mean rate is seconds off


def test_a_constant_rate_dataset_keeps_the_tables_it_had(prebuilt):
    """The generator's videos are constant-rate: no frame times are stored and every clip ends at k / fps, as
    before timestamps were read, so a workspace made before keeps its revisions (its ingest fingerprint does not
    depend on the probe) and a re-ingest writes the same clips."""
    ws = Workspace.open(prebuilt / "ws")
    videos = {v["video_id"]: v for v in ws.tables.read(ws.resolve("nexar/videos")).to_pylist() if v["status"] == "ok"}
    assert videos and all(v["frame_times_s"] is None and v["vfr"] is False for v in videos.values())
    for c in ws.tables.read(ws.resolve("nexar/clips")).to_pylist():
        fps = videos[c["video_id"]]["fps"]
        assert c["end_time_s"] == pytest.approx(round(c["end_frame"] / fps, 4), abs=1e-6)
