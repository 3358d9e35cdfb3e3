"""The dashboard's JSON API through HTTP (Starlette's test client): the library's answers, its security rules,
and edits committed as one revision with the library's validation and conflict rules."""
import json

import pyarrow.compute as pc
import pytest
from starlette.testclient import TestClient

from curation.dashboard.api import create_app
from curation.dashboard.security import Access
from curation.tables.requests import query
from curation.workspace import Workspace

TOKEN = "launch-token"


@pytest.fixture
def client(ws_dir):
    ws = Workspace.open(ws_dir)
    return TestClient(create_app(ws, Access("127.0.0.1", 5016, csrf=TOKEN, allow=("testserver",)))), ws


@pytest.mark.slow  # fresh Python processes: kept out of the edit loop's two minutes
def test_the_dashboard_starts_without_torch():
    """Serving tables, maps and suggestions needs no model: torch (and what it pulls in) loads only for the one
    route that predicts, so `curate dashboard` answers in a few seconds, not the ten its import took."""
    import subprocess
    import sys

    code = ("import sys; import curation.dashboard.server, curation.dashboard.api; "
            "print(sorted(m for m in ('torch', 'torchvision', 'umap') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_tables_log_and_pages_are_the_librarys(client):
    http, ws = client
    tables = http.get("/api/tables").json()
    assert {(t["dataset"], t["name"], t["head"]) for t in tables["tables"]} >= {("nexar", "clips", 1)}
    assert http.get("/api/log", params={"table": "clips"}).json()["revisions"][0]["op"] == "create"
    params = {"table": "clips@1", "where": "label == 1 and weight > 0", "sort": "end_time_s", "desc": "1",
              "limit": "4", "columns": "clip_id,end_time_s,label"}
    first = http.get("/api/samples", params=params).json()
    second = http.get("/api/samples", params={**params, "offset": "4"}).json()
    expected = query(ws.tables.read(ws.resolve("clips@1")), "label == 1 and weight > 0", "end_time_s", True)
    assert first["total"] == len(expected) and first["columns"] == ["clip_id", "end_time_s", "label"]
    assert [r["clip_id"] for r in first["rows"] + second["rows"]] == expected["clip_id"].tolist()[:8]


@pytest.mark.parametrize("where", ["__import__('os').system('touch /tmp/x')", "label.__class__", "@pd", "label +"])
def test_hostile_or_broken_filters_are_a_400_with_the_problem(client, where):
    http, _ = client
    answer = http.get("/api/samples", params={"table": "clips", "where": where})
    assert answer.status_code == 400 and answer.json()["problem"]


def test_foreign_hosts_and_tokenless_changes_are_refused(client):
    http, ws = client
    assert http.get("/api/tables", headers={"host": "evil.example:5016"}).status_code == 421
    body = {"table": "clips@1", "message": "x", "edits": [{"id": "nope", "action": "delete"}]}
    assert http.post("/api/edits", json=body).status_code == 403
    assert http.post("/api/edits", json=body, headers={"x-curate-token": "wrong"}).status_code == 403
    assert ws.tables.head("nexar", "clips").number == 1


def test_a_change_set_is_one_revision_with_video_level_cascade_and_conflicts(client):
    http, ws = client
    clips = ws.tables.read(ws.resolve("clips@1")).to_pylist()
    video = clips[0]["video_id"]
    doomed = [c["clip_id"] for c in clips if c["video_id"] != video][:3]
    body = {"table": "clips@1", "message": "from the dashboard",
            "edits": [{"id": i, "action": "delete"} for i in doomed]
            + [{"id": video, "level": "video", "action": "weight", "value": 0}]}
    answer = http.post("/api/edits", json=body, headers={"x-curate-token": TOKEN})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["revision"] == "nexar/clips@2" and answer.json()["counts"]["deleted"] == 3
    head = ws.tables.read(ws.resolve("clips@2"))
    assert not set(doomed) & set(head["clip_id"].to_pylist())
    assert set(ws.tables.read(ws.resolve("clips@1"))["clip_id"].to_pylist()) >= set(doomed)  # @1 keeps them
    weights = head.filter(pc.field("video_id") == video)["weight"].to_pylist()
    assert weights and set(weights) == {0.0}  # the video-level weight reached every clip of the video
    stale = {"table": "clips@1", "message": "stale page", "edits": [{"id": doomed[0], "action": "weight",
                                                                      "value": 0.5}]}
    answer = http.post("/api/edits", json=stale, headers={"x-curate-token": TOKEN})
    assert answer.status_code in (404, 409)  # its id is gone at the head: unknown there, or a conflict
    overlap = {"table": "clips@1", "message": "stale", "edits": [{"id": video, "level": "video", "action": "weight",
                                                                  "value": 0.5}]}
    answer = http.post("/api/edits", json=overlap, headers={"x-curate-token": TOKEN})
    assert answer.status_code == 409 and answer.json()["fix"]["action"] == "rebase"
    conflict = answer.json()  # what the page shows: the new head and every staged row that changed meanwhile
    assert (conflict["base"], conflict["head"], conflict["head_number"]) == ("nexar/clips@1", "nexar/clips@2", 2)
    clips_of_video = sorted(c["clip_id"] for c in clips if c["video_id"] == video)
    assert [(c["id"], c["parent"], c["change"], c["base"], c["head"]) for c in conflict["changed"]] == \
        [(c, video, "reweighted", 1.0, 0.0) for c in clips_of_video]
    bad = {"table": "clips@2", "message": "x", "edits": [{"id": doomed[0], "action": "explode"}]}
    assert http.post("/api/edits", json=bad, headers={"x-curate-token": TOKEN}).status_code == 400
    assert ws.tables.head("nexar", "clips").number == 2


def test_a_change_set_with_a_retime_moves_the_time_and_keeps_the_row_edit_and_a_stale_one_writes_nothing(client):
    http, ws = client
    videos = ws.tables.read(ws.tables.head("nexar", "videos")).to_pylist()
    moved = next(v for v in videos if v["target"] == 1 and v["split"] == "train" and v["time_of_event"] > 2.5)
    clip = next(c["clip_id"] for c in ws.tables.read(ws.resolve("clips@1")).to_pylist()
                if c["video_id"] != moved["video_id"])
    new = round(moved["time_of_event"] - 0.6, 3)
    body = {"table": "clips@1", "message": "move an event", "edits": [
        {"id": clip, "action": "weight", "value": 0.25},
        {"id": moved["video_id"], "level": "video", "action": "retime", "value": f"{new}"}]}
    wrong = {**body, "edits": [body["edits"][0], {**body["edits"][1], "value": f"{moved['time_of_event'] + 0.3}:1"}]}
    answer = http.post("/api/edits", json=wrong, headers={"x-curate-token": TOKEN})
    assert answer.status_code == 400 and "no labelled time" in answer.json()["problem"]
    assert ws.tables.head("nexar", "clips").number == 1  # the weight of a refused change set is not committed
    answer = http.post("/api/edits", json=body, headers={"x-curate-token": TOKEN})
    assert answer.status_code == 200, answer.json()
    head = ws.tables.head("nexar", "clips")
    assert answer.json()["revision"] == head.ref and head.number == 3 and answer.json()["retimed"] == 1
    row = next(v for v in ws.tables.read(ws.tables.head("nexar", "videos")).to_pylist()
               if v["video_id"] == moved["video_id"])
    assert row["time_of_event"] == pytest.approx(new, abs=1e-3)
    rows = {c["clip_id"]: c for c in ws.tables.read(head).to_pylist()}
    assert rows[clip]["weight"] == 0.25  # the row edit, carried through the re-derive
    stale = {**body, "edits": [{"id": clip, "action": "weight", "value": 0.5}, body["edits"][1]]}
    assert http.post("/api/edits", json=stale, headers={"x-curate-token": TOKEN}).status_code == 409
    assert ws.tables.head("nexar", "clips").number == 3


def test_thumbnail_pages_carry_each_rows_frames_and_whether_it_was_edited(client):
    from curation.review.clip_view import clip_frames

    http, ws = client
    clips = ws.tables.read(ws.resolve("clips@1")).to_pylist()
    edited = clips[3]
    body = {"table": "clips@1", "message": "x", "author": "Ada", "edits": [{"id": edited["clip_id"], "action":
                                                                              "weight", "value": 0.5}]}
    assert http.post("/api/edits", json=body, headers={"x-curate-token": TOKEN}).status_code == 200
    assert ws.tables.head("nexar", "clips").meta["author"] == "Ada"
    assert http.get("/api/log", params={"table": "clips"}).json()["revisions"][0]["author"] == "Ada"
    page = http.get("/api/samples", params={"table": "clips@2", "frames": "1", "limit": "1000",
                                            "columns": "clip_id"}).json()
    by_id = {c["clip_id"]: c for c in clips}
    assert page["columns"] == ["clip_id"] and len(page["frames"]) == len(page["rows"]) == len(clips)
    for row, frames, flag in zip(page["rows"], page["frames"], page["edited"]):
        assert frames == clip_frames(by_id[row["clip_id"]]) and flag == (row["clip_id"] == edited["clip_id"])
    videos = http.get("/api/samples", params={"table": "clips@2", "frames": "1", "view": "videos",
                                              "limit": "1000"}).json()
    for row, frames, flag in zip(videos["rows"], videos["frames"], videos["edited"]):
        mine = sorted((c for c in clips if c["video_id"] == row["video_id"]), key=lambda c: c["end_frame"])
        assert frames == clip_frames(mine[len(mine) // 2]) and flag == (row["video_id"] == edited["video_id"])
    assert "frames" not in http.get("/api/samples", params={"table": "clips@2"}).json()  # only when asked


def test_frames_come_by_id_from_the_cache_and_nothing_else(client):
    http, ws = client
    frame = ws.tables.read(ws.resolve("frames"), ["frame_id"])["frame_id"][0].as_py()
    answer = http.get(f"/api/frames/nexar/{frame}")
    assert answer.status_code == 200 and answer.content[:2] == b"\xff\xd8"
    for path in ("/api/frames/nexar/..%2F..%2Fcurate.json", "/api/frames/..%2Fcache/x:1", "/api/frames/nexar/x:99999",
                 "/api/frames/nexar/%2Fetc%2Fpasswd"):
        assert http.get(path).status_code in (400, 404), path


@pytest.mark.parametrize("args, needle", [(["clips@9"], "no revision 9"), (["--run", "7"], "no runs"),
                                          (["--port", "70000"], "70000")])
def test_the_command_checks_what_it_opens_before_serving(ws_dir, args, needle):
    from conftest import assert_one_line_error, curate

    assert_one_line_error(curate("-w", ws_dir, "dashboard", *args), needle)


def test_careless_parameters_are_a_4xx_with_the_problem_never_a_500(client):
    http, ws = client
    for params in ({"table": "clips", "offset": "1e400"}, {"table": "clips", "limit": "Infinity"},
                   {"table": "clips", "limit": "-1"}, {"table": "x" * 300}, {"table": "clips@" + "9" * 400}):
        answer = http.get("/api/samples", params=params)
        assert 400 <= answer.status_code < 500 and answer.json()["problem"], params
    for body in ({"table": "clips", "offset": [1]}, {"table": "clips", "run": 5}, {"table": "clips", "run": ["x"]},
                 {"table": "clips", "where": {"a": 1}}, {"table": ["clips"]}, '{"table": "clips", "limit": 1e400}'):
        answer = http.post("/api/samples", content=body if isinstance(body, str) else json.dumps(body),
                           headers={"x-curate-token": TOKEN, "content-type": "application/json"})
        assert 400 <= answer.status_code < 500 and answer.json()["problem"], body
    nested = "[" * 100_000 + "]" * 100_000
    answer = http.post("/api/edits", content=nested, headers={"x-curate-token": TOKEN,
                                                             "content-type": "application/json"})
    assert answer.status_code == 400 and "nested" in answer.json()["problem"]
    assert ws.tables.head("nexar", "clips").number == 1


def test_frames_of_ids_with_slashes_spaces_and_accents_are_served(prebuilt, tmp_path):
    """Class-folder video ids hold the folder path: every frame must still be reachable by its id in a URL."""
    import shutil
    from urllib.parse import quote

    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_folders

    videos = sorted((prebuilt / "data" / "train").glob("*.mp4"))
    names = {"drive/city streets": "v_drive_g01_c01 äöü.mp4", "drive/city streets/": "v_drive_g02_c01.mp4",
             "brake/nested/deep": "v_brake_g01_c01 é.mp4", "brake/other": "v_brake_g02_c01.mp4"}
    for k, (folder, name) in enumerate(names.items()):
        (tmp_path / "data" / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(videos[k], tmp_path / "data" / folder / name)
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_folders(tmp_path / "data"), "classes", IngestOptions(frame_size=32), progress=False)
    http = TestClient(create_app(ws, Access("127.0.0.1", 5016, csrf=TOKEN, allow=("testserver",))))
    frames = ws.tables.read(ws.resolve("classes/frames"), ["frame_id", "video_id"]).to_pylist()
    assert any("/" in f["video_id"] for f in frames) and any(" " in f["video_id"] for f in frames)
    for video in {f["video_id"] for f in frames}:
        first = next(f["frame_id"] for f in frames if f["video_id"] == video)
        answer = http.get(f"/api/frames/classes/{quote(first, safe='')}")
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg", first


def test_retimes_and_suggestions_follow_the_runs_writes_without_a_restart(reviewed_ws, monkeypatch):
    """A new predict-events rewrites the run's record: the dashboard's cached retimes and suggestions are made
    again on the next request, not kept until the server restarts."""
    from curation.dashboard import api

    ws = Workspace.open(reviewed_ws)
    run = ws.runs.runs()[-1]
    made = []
    monkeypatch.setattr(api, "learned_timing_issues", lambda w, r, notes: made.append(r) or [])
    monkeypatch.setattr(api, "suggest", lambda w, r: made.append(("suggest", r)) or api.Suggestions())
    state = api.AppState(ws, "", "me")
    state.timing(run), state.timing(run), state.run_suggestions(run), state.run_suggestions(run)
    assert made == [run, ("suggest", run)]  # cached while nothing changed
    ws.runs.write_record(run, ws.runs.record(run))  # what predict-events does when it stores a prediction
    assert state.cached_suggestions(run) is None
    state.timing(run), state.run_suggestions(run)
    assert made == [run, ("suggest", run)] * 2


def test_a_run_over_tables_registered_without_an_ingest_keys_its_caches(tmp_path):
    """Tables created through the store (a benchmark's, another tool's) have no videos table: the caches of a run
    over them are keyed without one instead of failing every page that asks for the run's suggestions."""
    from conftest import SPEC, make_clips
    from curation.dashboard.api import AppState
    from curation.runs.record import RunInputs, RunRecord

    ws = Workspace.open(tmp_path / "ws", backend="lance")
    revision = ws.tables.create(SPEC, make_clips(20), message="registered")
    run = ws.runs.create("outside")
    ws.runs.write_record(run, RunRecord(
        run=run, status="completed", config={}, backend="lance", task="binary", classes=["a", "b"],
        metric="accuracy", model={}, device="", epochs=[], best=None, created="",
        inputs=RunInputs(dataset="ds", table="clips", revision=1, ref=revision.ref,
                         fingerprint=revision.fingerprint, rows=20)))
    state = AppState(ws, "", "me")
    assert state.cached_suggestions(run) is None and state._run_key(run)[1] is None
