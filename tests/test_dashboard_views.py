"""The dashboard's views through its JSON API on a workspace with a trained run: the embedding map, the clip
viewer, revisions (diff per video, tag, revert), suggestions with their evidence, runs, and paging through a
selection. Every answer is checked against the library by id."""
import json

import numpy as np
import pyarrow.compute as pc
import pytest
from starlette.testclient import TestClient

from curation.dashboard.api import create_app
from curation.dashboard.security import Access
from curation.ingest.clips import frame_indices
from curation.review.embedding_map import BINS
from curation.review.metrics import clip_metrics
from curation.review.suggest import suggest
from curation.tables.content import diff_revisions
from curation.workspace import Workspace

TOKEN = "launch-token"
AUTH = {"x-curate-token": TOKEN}


@pytest.fixture
def client(reviewed_ws):
    ws = Workspace.open(reviewed_ws)
    return TestClient(create_app(ws, Access("127.0.0.1", 5016, csrf=TOKEN, allow=("testserver",)))), ws, ws.runs.resolve("last")


def test_the_map_has_one_point_per_collected_clip_scaled_and_coloured_by_id(client):
    http, ws, run = client
    answer = http.get("/api/map", params={"table": "clips@1", "run": run, "colour": "label"}).json()
    collected = ws.runs.collection(run, "clips@1").to_pylist() + ws.runs.collection(run, "test@1").to_pylist()
    editable = answer["editable"]  # the revision's clips first, then the test clips of the same 2-D map
    assert sorted(answer["ids"][:editable]) == sorted(ws.tables.read(ws.resolve("clips@1"))["clip_id"].to_pylist())
    assert sorted(answer["ids"][editable:]) == sorted(ws.tables.read(ws.resolve("test@1"))["clip_id"].to_pylist())
    x, y = np.array(answer["x"]), np.array(answer["y"])
    assert np.abs(x).max() <= 1 and np.abs(y).max() <= 1
    assert max(np.ptp(x), np.ptp(y)) == pytest.approx(1.9, abs=1e-3)  # scaled by the longer side: aspect kept
    by_id = {c["clip_id"]: c for c in collected}
    raw = np.array([[by_id[i]["map_x"], by_id[i]["map_y"]] for i in answer["ids"]])
    ratio = np.ptp(raw[:, 0]) / np.ptp(raw[:, 1])
    assert np.ptp(x) / np.ptp(y) == pytest.approx(ratio, rel=1e-3)
    classes = ws.tables.spec("nexar", "clips").classes
    rows = ws.tables.read(ws.resolve("clips@1")).to_pylist() + ws.tables.read(ws.resolve("test@1")).to_pylist()
    labels = {r["clip_id"]: r["label"] for r in rows}
    colour = answer["colour"]
    assert [colour["categories"][c] for c in colour["codes"]] == \
        [classes[labels[i]] if labels[i] is not None and labels[i] >= 0 else "none" for i in answer["ids"]]
    assert colour["categories"][:2] == classes  # in class order
    videos = {r["clip_id"]: r["video_id"] for r in rows}
    assert [answer["videos"][v] for v in answer["video"]] == [videos[i] for i in answer["ids"]]

    aum = http.get("/api/map", params={"table": "clips@1", "run": run, "colour": "aum"}).json()["colour"]
    metrics = {r["clip_id"]: r["aum"] for r in clip_metrics(ws, run).to_pylist()}
    values = [metrics.get(i) for i in answer["ids"]]
    known = sorted((v, c) for v, c in zip(values, aum["codes"]) if v is not None)
    assert aum["range"] == pytest.approx([known[0][0], known[-1][0]])
    assert [c for _, c in known] == sorted(c for _, c in known) and known[0][1] == 0 and known[-1][1] == BINS - 1
    assert all(c == BINS for v, c in zip(values, aum["codes"]) if v is None)

    signal = http.get("/api/map", params={"table": "clips@1", "run": run, "colour": "signal"}).json()["colour"]
    flagged = {s.id: s.signal for s in suggest(ws, run)}
    expected = [flagged.get(i) or flagged.get(videos[i]) or "none" for i in answer["ids"]]
    assert [signal["categories"][c] for c in signal["codes"]] == expected and set(expected) - {"none"}
    assert http.get("/api/map", params={"table": "clips@1", "run": run, "colour": "path"}).status_code == 404
    # any column: integers with few values (a fold) are categories, other numbers a range; numbers size the points
    from curation.review.metrics import revision_with_metrics

    by = http.get("/api/map", params={"table": "clips@1", "run": run, "colour": "end_time_s",
                                      "size": "eval_loss"}).json()
    assert by["colour"]["kind"] == "continuous" and by["size"]["by"] == "eval_loss"
    loss = {r["clip_id"]: r["eval_loss"] for r in revision_with_metrics(ws, ws.resolve("clips@1"), run).to_pylist()}
    ranked = sorted((loss[i], c) for i, c in zip(by["ids"], by["size"]["codes"]) if loss.get(i) is not None)
    assert [c for _, c in ranked] == sorted(c for _, c in ranked) and {ranked[0][1], ranked[-1][1]} == {0, 7}
    fold = http.get("/api/map", params={"table": "clips@1", "run": run, "colour": "fold"}).json()["colour"]
    assert fold["kind"] == "categorical"
    assert http.get("/api/map", params={"table": "clips@1", "run": run, "size": "split"}).status_code == 400


def test_neighbours_are_the_nearest_clips_of_the_revision_in_the_runs_embedding(client):
    import numpy as np

    from curation.review.metrics import final_collection

    http, ws, run = client
    collection = ws.runs.collection(run, final_collection(ws, run, "clips")).to_pylist()
    in_revision = set(ws.tables.read(ws.resolve("clips@1"))["clip_id"].to_pylist())
    rows = [r for r in collection if r["clip_id"] in in_revision]
    vectors = np.array([r["embedding"] for r in rows], dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    me = rows[5]["clip_id"]
    distance = 1 - vectors @ vectors[5]
    expected = [rows[i]["clip_id"] for i in np.argsort(distance, kind="stable") if i != 5][:7]
    answer = http.get("/api/neighbours", params={"table": "clips@1", "run": run, "id": me, "k": "7"}).json()
    assert [n["id"] for n in answer["neighbours"]] == expected
    assert [n["distance"] for n in answer["neighbours"]] == sorted(n["distance"] for n in answer["neighbours"])
    assert http.get("/api/neighbours", params={"table": "clips@1", "run": run, "id": "nope:1"}).status_code == 404


def test_the_clip_viewer_shows_frames_timeline_neighbours_and_dynamics(client):
    http, ws, run = client
    dynamics = ws.runs.dynamics(run)
    drawn = dynamics["clip_id"][0].as_py()
    view = http.get("/api/clip", params={"table": "clips@1", "run": run, "id": drawn}).json()
    row = view["clip"]
    assert view["frames"] == [f"{row['video_id']}:{k}" for k in frame_indices(row["end_frame"], row["stride"],
                                                                               row["n_frames"])]
    mine = dynamics.filter(pc.field("clip_id") == drawn).to_pandas().groupby("epoch")
    assert [e["epoch"] for e in view["epochs"]] == sorted(mine.groups)
    assert [e["loss"] for e in view["epochs"]] == pytest.approx(mine["loss"].mean().tolist())
    siblings = ws.tables.read(ws.resolve("clips@1")).filter(pc.field("video_id") == row["video_id"])
    order = [r["clip_id"] for r in sorted(siblings.to_pylist(), key=lambda r: r["end_frame"])]
    assert [c["id"] for c in view["timeline"]] == order
    k = order.index(drawn)
    assert view["previous"] == (order[k - 1] if k else None)
    assert view["next"] == (order[k + 1] if k + 1 < len(order) else None)
    video = ws.tables.read(ws.resolve("videos")).filter(pc.field("video_id") == row["video_id"]).to_pylist()[0]
    expected = {(n, video[f"time_of_{n}"]) for n in ("alert", "event") if video[f"time_of_{n}"] == video[
        f"time_of_{n}"] and video[f"time_of_{n}"] is not None}
    assert {(m["name"], pytest.approx(m["t"])) for m in view["marks"]} == expected
    assert "path" not in view["video"] and view["fps"] == pytest.approx(video["fps"])
    middle = http.get("/api/clip", params={"table": "clips@1", "video": row["video_id"]}).json()
    assert middle["clip"]["clip_id"] == order[len(order) // 2] and middle["epochs"] == []
    assert http.get("/api/clip", params={"table": "clips@1", "id": "nope:1"}).status_code == 404


def test_revisions_diff_per_video_tag_and_revert(client):
    http, ws, _ = client
    clips = ws.tables.read(ws.resolve("clips@1")).sort_by("clip_id").to_pylist()
    video = clips[0]["video_id"]
    others = [c["clip_id"] for c in clips if c["video_id"] != video][:2]
    edits = [{"id": i, "action": "delete"} for i in others] + [{"id": video, "level": "video", "action": "weight",
                                                                "value": "0"}]
    assert http.post("/api/edits", json={"table": "clips@1", "message": "m", "edits": edits},
                     headers=AUTH).status_code == 200
    d = http.get("/api/diff", params={"a": "clips@1", "b": "clips@2"}).json()
    expected = diff_revisions(ws.tables, ws.resolve("clips@1"), ws.resolve("clips@2"))
    assert d["counts"] == expected.counts() and d["changes"]["deleted"] == sorted(others)
    per_video = {p["parent"]: p for p in d["per_parent"]}
    assert per_video[video]["reweighted"] == sum(c["video_id"] == video for c in clips)
    assert sum(p["deleted"] for p in d["per_parent"]) == 2
    assert http.get("/api/diff", params={"a": "clips@1", "b": "videos@1"}).status_code == 400

    assert http.post("/api/tag", json={"table": "clips@1", "tag": "before"}).status_code == 403
    assert http.post("/api/tag", json={"table": "clips@1", "tag": "before"}, headers=AUTH).status_code == 200
    assert ws.tables.tags("nexar", "clips") == {"before": 1}
    assert http.post("/api/tag", json={"table": "clips@2", "tag": "before"}, headers=AUTH).status_code == 400
    answer = http.post("/api/revert", json={"table": "clips@before"}, headers=AUTH).json()
    assert answer == {"revision": "nexar/clips@3", "number": 3, "changed": True}
    assert diff_revisions(ws.tables, ws.resolve("clips@1"), ws.resolve("clips@3")).counts() == \
        {"added": 0, "deleted": 0, "reweighted": 0, "relabeled": 0}


def test_suggestions_carry_their_evidence_and_runs_their_curves(client):
    http, ws, run = client
    answer = http.get("/api/suggestions", params={"run": run}).json()
    expected = suggest(ws, run)
    assert [(s["id"], s["signal"], s["action"]) for s in answer["suggestions"]] == \
        [(s.id, s.signal, s.action) for s in expected]
    pairs = [s for s in answer["suggestions"] if s["signal"] in ("near-duplicate", "leak")]
    assert pairs and all(s["partner"] and s["partner_frames"] and s["frames"] for s in pairs)
    assert all(f.startswith(s["id"] + ":") for s in pairs for f in s["frames"])
    assert all(f.startswith(s["partner"] + ":") for s in pairs for f in s["partner_frames"])

    runs = http.get("/api/runs").json()["runs"]
    assert [(r["run"], r["status"], r["epochs"]) for r in runs] == [(run, "completed", 2)]
    record = http.get("/api/run", params={"run": "last"})
    json.loads(record.text, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert [e["epoch"] for e in record.json()["epochs"]] == [1, 2]
    assert http.get("/api/run", params={"run": "run-0042"}).status_code == 404


def test_a_selection_pages_by_post_and_videos_page_as_videos(client):
    http, ws, run = client
    clips = ws.tables.read(ws.resolve("clips@1")).sort_by("clip_id")
    ids = clips["clip_id"].to_pylist()[::5]
    body = {"table": "clips@1", "run": run, "ids": ids, "limit": 1000, "sort": "clip_id"}
    assert http.post("/api/samples", json=body).status_code == 403  # reads by POST still carry the token
    page = http.post("/api/samples", json=body, headers=AUTH).json()
    assert [r["clip_id"] for r in page["rows"]] == sorted(ids) and page["total"] == len(ids)
    assert "aum" in page["columns"] and "pred" in page["columns"]
    videos = http.get("/api/samples", params={"table": "clips@1", "view": "videos", "limit": 1000}).json()
    assert videos["key"] == "video_id"
    assert {r["video_id"]: r["clips"] for r in videos["rows"]} == \
        dict(zip(*np.unique(clips["video_id"].to_pylist(), return_counts=True)))
    for bad in ({"ids": "a,b"}, {"ids": [1, 2]}):
        assert http.post("/api/samples", json={**body, **bad}, headers=AUTH).status_code == 400


def test_only_the_pages_assets_are_served(client):
    http, _, _ = client
    for name in ("app.js", "map.js", "vendor/regl-scatterplot.esm.js", "vendor/regl.min.js", "style.css"):
        assert http.get(f"/static/{name}").status_code == 200, name
    for name in ("../api.py", "vendor/../../api.py", "vendor/LICENSE-regl", "%2e%2e/api.py", "index.html"):
        assert http.get(f"/static/{name}").status_code == 404, name


def test_once_computed_the_runs_suggestions_are_columns_of_the_samples_to_sort_and_filter_by(client):
    http, ws, run = client
    plain = http.get("/api/samples", params={"table": "clips@1", "run": run}).json()
    assert "suggestion" not in plain["columns"]  # a page never waits for suggestions
    found = http.get("/api/suggestions", params={"run": run}).json()["suggestions"]
    by_id = {s["id"]: s for s in found}
    page = http.get("/api/samples", params={"table": "clips@1", "run": run, "limit": "1000",
                                            "sort": "suggestion_score", "desc": "1"}).json()
    for row in page["rows"]:
        s = by_id.get(row["clip_id"]) or by_id.get(row["video_id"])
        assert row["suggestion_score"] == (s and s["score"])
        assert row["suggestion"] == (s and f"{s['signal']}: {s['action']} {s['value']}".strip())
    scores = [r["suggestion_score"] for r in page["rows"] if r["suggestion_score"] is not None]
    assert scores and scores == sorted(scores, reverse=True)
    flagged = http.get("/api/samples", params={"table": "clips@1", "run": run, "where": "suggestion_score > 0"})
    assert flagged.json()["total"] == len(scores)


def test_neighbours_from_the_inverted_file_match_every_distance_and_a_new_pass_replaces_it(client, monkeypatch):
    """Above a size a collection's neighbours come from an inverted-file index of fp16 vectors, kept beside the
    collection: searched through every cell it answers what the exact index answers; writing the collection
    again replaces it (it would answer for the old embeddings): built with it when large, else on first use."""
    from curation.review.metrics import final_collection
    from curation.runs import vectors

    http, ws, run = client
    name = final_collection(ws, run, "clips")
    storage, key = ws.runs.storage, f"{run}/collect/{name}.parquet"
    index = vectors.index_key(key)
    me = ws.runs.collection(run, name)["clip_id"][3].as_py()
    params = {"table": "clips@1", "run": run, "id": me, "k": "9"}
    exact = http.get("/api/neighbours", params=params).json()["neighbours"]
    assert storage.exists(index) and len(exact) == 9

    monkeypatch.setattr(vectors, "EXACT_BELOW", 0)
    monkeypatch.setattr(vectors, "PROBES", 10**6)
    storage.delete(index)
    vectors._loaded.clear()  # the exact index, kept in memory
    inverted = http.get("/api/neighbours", params=params).json()["neighbours"]
    assert type(vectors.collection_index(storage, key).index).__name__ == "IndexIVFScalarQuantizer"
    assert [n["id"] for n in inverted] == [n["id"] for n in exact]
    assert all(abs(a["distance"] - b["distance"]) < 2e-3 for a, b in zip(inverted, exact))

    built = storage.version(index)
    ws.runs.write_collection(run, name, ws.runs.collection(run, name))  # a large one's index comes with it
    assert storage.version(index) not in ((), built)
    monkeypatch.setattr(vectors, "EXACT_BELOW", 10**9)
    ws.runs.write_collection(run, name, ws.runs.collection(run, name))  # a small one's on first use
    assert not storage.exists(index)


def test_the_binary_map_carries_what_the_json_map_does(client):
    """The page's map comes as typed arrays behind a JSON header, and its ids as text when needed: decoded, they
    are the JSON answer's points, in the same order."""
    import json as jsonlib

    http, ws, run = client
    params = {"table": "clips@1", "run": run, "colour": "label", "size": "eval_loss"}
    plain = http.get("/api/map", params=params).json()
    raw = http.get("/api/map", params={**params, "format": "binary"})
    assert raw.headers["content-type"] == "application/octet-stream"
    body = raw.content
    assert body[:4] == b"CMAP"
    length = int.from_bytes(body[4:8], "little")
    header = jsonlib.loads(body[8:8 + length])
    at, arrays = 8 + length, {}
    for item in header["arrays"]:
        assert at % 4 == 0
        arrays[item["name"]] = np.frombuffer(body, dtype=item["type"], count=item["length"], offset=at)
        at += arrays[item["name"]].nbytes + (-arrays[item["name"]].nbytes % 4)
    assert at == len(body) and header["count"] == len(plain["ids"]) and header["editable"] == plain["editable"]
    assert np.allclose(arrays["x"], plain["x"], atol=1e-6) and np.allclose(arrays["y"], plain["y"], atol=1e-6)
    assert arrays["colour"].tolist() == plain["colour"]["codes"] and arrays["size"].tolist() == plain["size"]["codes"]
    assert [header["videos"][v] for v in arrays["video"]] == [plain["videos"][v] for v in plain["video"]]
    assert header["colour"] == {k: v for k, v in plain["colour"].items() if k != "codes"}
    ids = http.get("/api/map", params={**params, "format": "ids"}).text.split("\n")
    assert ids == plain["ids"]


def test_suggestions_and_the_clip_viewer_speak_plainly_and_a_note_runs_its_fix(client):
    """Each suggestion carries its plain words, what accepting does and what its signal means; the clip viewer
    says what the run made of the clip; the note that event times were not checked names its fix, which the
    dashboard runs on request (with the token), and the note goes."""
    from conftest import pass_the_learning_check
    from curation.review.words import SIGNAL_HELP, clip_words, proposal_words

    http, ws, run = client
    pass_the_learning_check(ws, run)  # a run that did not learn proposes no times and has no such note
    answer = http.get("/api/suggestions", params={"run": run}).json()
    by_id = {s.id: s for s in suggest(ws, run)}
    assert answer["suggestions"] and all(
        s["plain"] == by_id[s["id"]].plain and s["plain"] and s["proposal"] == proposal_words(s["action"], s["value"])
        and s["signal_help"] == SIGNAL_HELP[s["signal"]] for s in answer["suggestions"])
    unreadable = next(s for s in answer["suggestions"] if s["signal"] == "unreadable")
    assert unreadable["plain"].startswith("This video could not be read (corrupt)")
    note = next(n for n in answer["notes"] if n["action"])
    assert note == {"text": f"event times not checked: predict {run}'s event times on nexar's videos first",
                    "action": "predict-events", "run": run}

    clip = ws.tables.read(ws.resolve("clips@1"), ["clip_id", "video_id"]).to_pylist()[0]
    shown = http.get("/api/clip", params={"table": "clips@1", "id": clip["clip_id"], "run": run}).json()
    mine = next((s.plain for s in by_id.values() if (s.video or s.id) == clip["video_id"]), "")
    assert shown["plain"] == clip_words(shown["clip"], ["normal", "collision"], mine)
    assert shown["plain"].endswith("training.") or "Suggested:" in shown["plain"]

    assert http.post("/api/predict-events", json={"run": run}).status_code == 403  # a change: the token
    done = http.post("/api/predict-events", json={"run": run}, headers=AUTH)
    assert done.status_code == 200 and done.json()["videos"] > 0
    assert ws.runs.record(run).evaluations  # the prediction is the run's, as `curate predict-events` keeps it
    again = http.get("/api/suggestions", params={"run": run}).json()
    assert not [n for n in again["notes"] if n["action"]]
