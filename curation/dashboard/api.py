"""The dashboard's JSON API: the same library calls as the CLI, over HTTP, for the browser page.

Security (it edits user data): security.Guard checks the Host header, the access token (when set) and the CSRF
value of changes on every request; from the browser come only table references, run references, filters in the
safe language, ids and frame ids — never a path.
Library errors come back as JSON {problem, fix: {text, action, params}} with 400 (404 unknown, 409 conflict).
Reads run in Starlette's thread pool (a slow one, e.g. suggestions, does not hold the frames back); changes
run one at a time (one lock), like one `curate edit` after another — a commit in the thread pool too, as a
retime re-derives the dataset's clips.
"""
from __future__ import annotations

import asyncio
import html
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from curation.dashboard.security import Access, Guard, content_security_policy
from curation.errors import BadInput, Conflict, CurateError, NotFound
from curation.events.stored import video_events
from curation.frames.cache import INDEX, FrameReader
from curation.jsonsafe import json_row, json_value
from curation.review.clip_view import clip_view
from curation.review.compare import DRAWS, compare, verdict
from curation.review.embedding_map import (map_binary, map_ids_text, map_json, map_points, neighbours,
                                           signal_of_clips, with_suggestions)
from curation.review.metrics import per_video, revision_with_metrics
from curation.review.apply import apply_requests
from curation.review.suggest import learned_timing_issues, suggest
from curation.review.shown import context_points, edited_ids, proposed_retime, tile_frames, with_evidence_frames
from curation.review.suggestion import Suggestion, Suggestions
from curation.review.words import COLUMN_HELP, SIGNAL_HELP, clip_words
from curation.tables.commit import default_author
from curation.tables.content import VAL_WARNING, changed_meanwhile, diff_per_parent, diff_revisions
from curation.tables.requests import check_request, edit_from_requests, page, split_retimes
from curation.task import TABLE_NAMES, VIDEOS

MAX_PAGE = 1000
MAX_IDS = 200_000  # a selection sent back to page through (the whole map of a large table)
DIFF_IDS = 200  # ids listed per kind of change; the counts are complete
STATIC = Path(__file__).with_name("static")
# the page's own scripts
MODULES = ("app", "core", "grid", "tiles", "keys", "map", "viewer", "panels", "edits", "regl-esm")
VENDORED = ("vendor/regl-scatterplot.esm.js", "vendor/regl.min.js", "vendor/pub-sub-es.js")  # scripts/vendor-scatter.sh
ASSETS = {**{f"{m}.js": "text/javascript" for m in MODULES}, **dict.fromkeys(VENDORED, "text/javascript"),
          "style.css": "text/css"}
# <video_id>:<index>; a video id may hold '/' (class folders): looked up in the cache, never opened as a path
FRAME_ID = re.compile(r"^[^\x00]+:\d+$")


@dataclass
class AppState:
    """What the handlers share: the workspace, the page (with its CSRF value), and the caches of what does not go
    stale — suggestions per run version and videos revision, one frame reader per cache version."""
    ws: object
    index_page: str
    author: str
    read_only: bool = False  # nothing is written: a comparison needing an inference pass is refused
    suggestions: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    edited: dict = field(default_factory=dict)
    readers: dict = field(default_factory=dict)
    suggest_lock: threading.Lock = field(default_factory=threading.Lock)  # separate: frames never wait for
    reader_lock: threading.Lock = field(default_factory=threading.Lock)   # suggestions
    change_lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one change at a time

    def _run_key(self, run: str) -> tuple:
        """What a cache of the run's suggestions goes stale with: the run's own writes (a new predict-events, a
        collection) and its dataset's videos revision."""
        dataset = self.ws.runs.record(run).inputs.dataset
        videos = (self.ws.tables.head(dataset, TABLE_NAMES[VIDEOS]).number
                  if self.ws.tables.exists(dataset, TABLE_NAMES[VIDEOS])
                  else None)  # tables registered without an ingest have no videos table
        return run, videos, self.ws.runs.version(run)

    def run_suggestions(self, run: str) -> Suggestions:
        """`suggest` for a run, computed once per run version and videos revision (it compares every video)."""
        key = self._run_key(run)
        with self.suggest_lock:
            if key not in self.suggestions:
                self.suggestions[key] = suggest(self.ws, run)
            return self.suggestions[key]

    def cached_suggestions(self, run: str) -> Suggestions | None:
        """The run's suggestions if something asked for them already (they compare every video: the samples
        show them as columns once computed, never compute them for a page)."""
        return self.suggestions.get(self._run_key(run))

    def timing(self, run: str) -> dict[str, Suggestion]:
        """The run's proposed retimes by video (the timing signal alone: the clip viewer's timeline shows them),
        once per run version and videos revision."""
        key = self._run_key(run)
        with self.suggest_lock:
            if key not in self.timings:
                self.timings[key] = {s.id: s for s in learned_timing_issues(self.ws, run, [])}
            return self.timings[key]

    def edited_ids(self, revision) -> set[str]:
        """`shown.edited_ids`, once per revision (a revision never changes)."""
        if revision.ref not in self.edited:
            self.edited[revision.ref] = edited_ids(self.ws, revision)
        return self.edited[revision.ref]

    def video_row(self, dataset: str, video_id: str) -> dict | None:
        task = self.ws.task(dataset)
        if not task.has(VIDEOS):
            return None
        rows = self.ws.tables.read(task.head(self.ws.tables, VIDEOS), where=pc.field("video_id") == video_id)
        return rows.to_pylist()[0] if rows.num_rows else None

    def parents(self, *revisions) -> tuple[str | None, dict]:
        """The parent key of the revisions' table (a clip's video_id), and id → parent over their rows."""
        spec = self.ws.tables.spec(revisions[0].dataset, revisions[0].table)
        parent = (spec.parent or {}).get("key")
        parent_of = {}
        for revision in revisions if parent else ():
            rows = self.ws.tables.read(revision, [spec.id_column, parent])
            parent_of.update(zip(rows[spec.id_column].to_pylist(), rows[parent].to_pylist()))
        return parent, parent_of

    def frame_reader(self, dataset: str) -> FrameReader:
        """One reader per dataset, opened again when the cache gets a new version (a re-ingest)."""
        cache = self.ws.cache(dataset)
        key = cache.version(INDEX)  # written after every commit of frames
        if not key:
            raise NotFound(f"{dataset} has no frame cache", "re-ingest the dataset")
        with self.reader_lock:
            if self.readers.get(dataset, (None,))[0] != key:
                self.readers[dataset] = (key, FrameReader(cache))
            return self.readers[dataset][1]


def create_app(ws, access: Access, author: str | None = None) -> Starlette:
    """The API over workspace `ws`, guarded by `access` (hosts, tokens, read-only); commits are recorded as made
    by `author` unless the page names someone (default: the user the server runs as)."""
    index_page = (STATIC / "index.html").read_text().replace("__CURATE_TOKEN__", html.escape(access.csrf, quote=True))
    middleware = [Middleware(Guard, access=access, csp=content_security_policy(index_page))]
    app = Starlette(routes=ROUTES, middleware=middleware, exception_handlers={CurateError: _error_response})
    app.state.curate = AppState(ws, index_page, author or default_author(), access.read_only)
    return app


def _state(request: Request) -> AppState:
    return request.app.state.curate


def tables(request: Request) -> JSONResponse:
    state = _state(request)
    ws = state.ws
    specs = sorted(ws.tables.list_tables(), key=lambda s: (s.dataset, s.name))
    return JSONResponse({"current": ws.dataset, "author": state.author, "tables": [
        {"dataset": s.dataset, "name": s.name, "kind": s.kind, "head": ws.tables.head(s.dataset, s.name).number,
         "tags": ws.tables.tags(s.dataset, s.name)} for s in specs]})


def log(request: Request) -> JSONResponse:
    ws = _state(request).ws
    head = ws.resolve(_text(request.query_params, "table"))
    return JSONResponse({"table": f"{head.dataset}/{head.table}", "revisions": [
        {"number": r.number, "parent": r.parent, "created": r.created, "message": r.message, "op": r.op,
         "rows": r.rows, "counts": r.counts, "author": r.meta.get("author")}
        for r in reversed(ws.tables.revisions(head.dataset, head.table))]})


async def samples(request: Request) -> JSONResponse:
    """A page of a revision's rows (with a run's metrics): GET with query parameters, or POST the same as
    JSON with `ids` to page through a selection (too long for a URL). `view=videos`: a row per video."""
    params = dict(request.query_params) if request.method == "GET" else await _json(request)
    return await run_in_threadpool(samples_page, _state(request), params)


def samples_page(state: AppState, params: dict) -> JSONResponse:
    """A page of rows; with `frames=1` also each row's frame ids (a clip's own; a video's middle clip's), what a
    thumbnail shows and plays."""
    ws = state.ws
    revision = ws.resolve(_text(params, "table"))
    run = _optional_text(params, "run")
    clips = table = revision_with_metrics(ws, revision, run)
    spec = ws.tables.spec(revision.dataset, revision.table)
    key = spec.id_column
    found = state.cached_suggestions(ws.runs.resolve(run)) if run else None
    if found is not None and "video_id" in table.column_names:
        clips = table = with_suggestions(table, found, key)
    if params.get("view") == "videos":
        table, key = per_video(table), "video_id"
    if params.get("ids") is not None:
        ids = params["ids"]
        if not isinstance(ids, list) or len(ids) > MAX_IDS or not all(isinstance(i, str) for i in ids):
            raise BadInput("ids must be a list of id strings", f"send at most {MAX_IDS} ids")
        table = table.filter(pc.is_in(table[key], value_set=pa.array(ids, pa.string())))
    offset, limit = _int(params, "offset", 0, 0, 10**9), _int(params, "limit", 100, 1, MAX_PAGE)
    columns = [c for c in (_optional_text(params, "columns") or "").split(",") if c] or None
    rows, total = page(table, _optional_text(params, "where"), _optional_text(params, "sort"),
                       str(params.get("desc")) == "1", offset, limit)
    tiles = {}
    if str(params.get("frames")) == "1":  # what thumbnails show: frames to play, and whether a row was edited
        edited = state.edited_ids(revision)
        if key == "video_id":
            changed = clips.filter(pc.is_in(clips[spec.id_column], value_set=pa.array(sorted(edited), pa.string())))
            edited = set(changed["video_id"].to_pylist())
        tiles = {"frames": tile_frames(rows, clips, key), "edited": [i in edited for i in rows[key].to_pylist()]}
    if columns:
        rows, _ = page(rows, columns=columns)
    return JSONResponse({"table": revision.ref, "key": key, "total": total, "offset": offset, "classes": spec.classes,
                         "columns": rows.column_names, "rows": [json_row(r) for r in rows.to_pylist()], **tiles})


def embedding_map(request: Request) -> JSONResponse:
    state = _state(request)
    ws = state.ws
    revision = ws.resolve(_text(request.query_params, "table"))
    run = ws.runs.resolve(_text(request.query_params, "run"))
    colour = request.query_params.get("colour", "label")
    table = revision_with_metrics(ws, revision, run)
    spec = ws.tables.spec(revision.dataset, revision.table)
    signals = signal_of_clips(table, state.run_suggestions(run), spec.id_column) if colour == "signal" else None
    points = map_points(table, colour, spec.classes, signals, spec.id_column, context_points(ws, run, revision),
                        size=request.query_params.get("size") or None)
    kind = request.query_params.get("format", "json")
    if kind == "binary":  # what the page draws from: typed arrays, no object per point
        return Response(map_binary(points, table=revision.ref, run=run), media_type="application/octet-stream")
    if kind == "ids":
        return Response(map_ids_text(points), media_type="text/plain; charset=utf-8")
    return JSONResponse({"table": revision.ref, "run": run, **map_json(points)})


def nearest(request: Request) -> JSONResponse:
    """The clips of the revision nearest one clip in the run's embedding: `id`, `k` (default 20)."""
    ws = _state(request).ws
    revision = ws.resolve(_text(request.query_params, "table"))
    run = ws.runs.resolve(_text(request.query_params, "run"))
    clip_id = _text(request.query_params, "id")
    found = neighbours(ws, run, revision, clip_id, _int(request.query_params, "k", 20, 1, 1000))
    return JSONResponse({"table": revision.ref, "run": run, "id": clip_id,
                         "neighbours": [{"id": i, "distance": d} for i, d in found]})


def clip(request: Request) -> JSONResponse:
    state = _state(request)
    ws = state.ws
    revision = ws.resolve(_text(request.query_params, "table"))
    run = request.query_params.get("run") or None
    run = run and ws.runs.resolve(run)
    spec = ws.tables.spec(revision.dataset, revision.table)
    video_id = request.query_params.get("video")  # a video: its middle clip
    if not video_id:
        clip_id = _text(request.query_params, "id")
        found = ws.tables.read(revision, ["video_id"], where=pc.field(spec.id_column) == clip_id).to_pylist()
        if not found:
            raise NotFound(f"no clip {clip_id!r} in this revision", "pick a clip of the revision shown")
        video_id = found[0]["video_id"]
    table = revision_with_metrics(ws, revision, run, where=pc.field("video_id") == video_id)  # the video's clips
    if table.num_rows == 0:
        raise NotFound(f"no clip of video {video_id!r} in {revision.ref}", "pick a video of the revision shown")
    if request.query_params.get("video"):
        clip_id = table.sort_by("end_frame")[spec.id_column][table.num_rows // 2].as_py()
    video = state.video_row(revision.dataset, video_id)
    view = clip_view(table, clip_id, video or None, run and ws.runs.dynamics(run), spec.id_column)
    events = run and video_events(ws, run, video_id)  # after `curate predict-events`
    retime = events and proposed_retime(ws, revision.dataset, video or None, state.timing(run))
    found = state.cached_suggestions(run) if run else None  # what the Suggestions view proposed for it, if asked
    mine = next((s for s in found or () if (s.video or s.id) == video_id and s.id in (video_id, clip_id)), None)
    plain = clip_words(view["clip"], spec.classes or [], mine.plain if mine else "")
    return JSONResponse({"table": revision.ref, "dataset": revision.dataset, **view, "events": events or None,
                         "retime": retime or None, "plain": plain})


def words(request: Request) -> JSONResponse:
    """Each signal and column explained in a sentence: the page's hover text."""
    return JSONResponse({"signals": SIGNAL_HELP, "columns": COLUMN_HELP})


def diff(request: Request) -> JSONResponse:
    state = _state(request)
    ws = state.ws
    a, b = ws.resolve(_text(request.query_params, "a")), ws.resolve(_text(request.query_params, "b"))
    d = diff_revisions(ws.tables, a, b)
    parent, parent_of = state.parents(a, b)
    return JSONResponse({"a": a.ref, "b": b.ref, "counts": d.counts(), "parent": parent,
                         "changes": {k: [list(x) if isinstance(x, tuple) else x for x in getattr(d, k)[:DIFF_IDS]]
                                     for k in d.counts()},
                         "per_parent": diff_per_parent(d, parent_of)[:DIFF_IDS] if parent else []})


async def tag(request: Request) -> JSONResponse:
    state = _state(request)
    ws = state.ws
    body = await _json(request)
    revision = ws.resolve(_text(body, "table"))
    name = _text(body, "tag")
    async with state.change_lock:
        ws.tables.set_tag(revision.dataset, revision.table, name, revision.number, force=bool(body.get("force")))
    return JSONResponse({"table": f"{revision.dataset}/{revision.table}", "tag": name,
                         "number": revision.number})


async def revert(request: Request) -> JSONResponse:
    state = _state(request)
    ws = state.ws
    body = await _json(request)
    target = ws.resolve(_text(body, "table"))
    message = str(body.get("message") or f"revert to {target.number}")
    async with state.change_lock:
        new = ws.tables.revert(target.dataset, target.table, target.number, message=message)
    return JSONResponse({"revision": new.ref, "number": new.number, "changed": new.number != target.number})


def suggestions(request: Request) -> JSONResponse:
    state = _state(request)
    ws = state.ws
    run = ws.runs.resolve(_text(request.query_params, "run"))
    record = ws.runs.record(run)
    trained = record.trained_on(ws.tables)
    found = state.run_suggestions(run)
    items = with_evidence_frames(ws, trained, found)
    return JSONResponse({"run": run, "table": trained.ref, "dataset": trained.dataset, "suggestions": items,
                         "notes": [{"text": note, "action": note.action, "run": note.run} for note in found.notes]})


async def predict_run_events(request: Request) -> JSONResponse:
    """`curate predict-events` for a run, the action a suggestions note asks for: its event times are then checked
    (the run's suggestions go stale with the write)."""
    from curation.events.predict import predict_events  # late: it loads torch, which nothing else here needs

    state = _state(request)
    run = state.ws.runs.resolve(_text(await _json(request), "run"))
    async with state.change_lock:
        result = await run_in_threadpool(predict_events, state.ws, run, progress=False)
    return JSONResponse({"run": run, "videos": result["videos"], "table": result["table"]})


async def compare_runs(request: Request) -> JSONResponse:
    """`curate compare` over the runs named (`runs=A,B,…`; the first is the baseline): each group's metric, each
    difference with its interval and verdict, per-video differences and the clips that changed most. A run
    without predictions for the pinned clips gets its inference pass, kept in the run, as the command does."""
    params = request.query_params
    refs = [r for r in _text(params, "runs").split(",") if r]
    split = params.get("split") or "val"
    samples = _int(params, "samples", DRAWS, 100, 20_000)
    state = _state(request)
    return await run_in_threadpool(_compare, state.ws, refs, split, samples, not state.read_only)


def _compare(ws, refs: list[str], split: str, samples: int, may_collect: bool) -> JSONResponse:
    from curation.train.collect import collect

    def passes(w, run, ref, checkpoint):
        return collect(w, run, ref, checkpoint, progress=False)

    result = compare(ws, refs, split=split, samples=samples, collect=passes if may_collect else None)
    for d in result["differences"]:
        d["verdict"] = verdict(d)
    return JSONResponse(json_value(result))


def runs(request: Request) -> JSONResponse:
    ws = _state(request).ws
    out = []
    for run in ws.runs.runs():
        try:
            record = ws.runs.record(run)
        except CurateError as exc:  # one unreadable run does not hide the others
            out.append({"run": run, "status": "unreadable", "problem": exc.problem})
            continue
        out.append({"run": run, "status": record.status, "trained_on": record.inputs.ref,
                    "model": record.config.get("model"), "epochs": len(record.epochs), "best": record.best})
    return JSONResponse(json_value({"runs": out}))


def run(request: Request) -> JSONResponse:
    ws = _state(request).ws
    record = ws.runs.record(ws.runs.resolve(_text(request.query_params, "run")))
    return JSONResponse(json_value(record.to_dict()))


def frame(request: Request) -> Response:
    state = _state(request)
    ws = state.ws
    dataset, fid = request.path_params["dataset"], request.path_params["frame_id"]
    if not FRAME_ID.match(fid) or dataset not in {s.dataset for s in ws.tables.list_tables()}:
        raise NotFound(f"no frame {fid!r} in dataset {dataset!r}", "ask for a frame id of a clip")
    reader = state.frame_reader(dataset)
    if fid not in reader:
        raise NotFound(f"frame {fid} is not in the frame cache of {dataset}", "re-ingest the dataset")
    return Response(reader.read([fid])[0], media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})


async def edits(request: Request) -> JSONResponse:
    state = _state(request)
    ws = state.ws
    body = await _json(request)
    revision = ws.resolve(_text(body, "table"))  # TABLE@N: the revision the page showed (the base)
    requests = body.get("edits")
    if not isinstance(requests, list) or not requests:
        raise BadInput("no edits given", "stage at least one edit")
    rows = []
    for k, item in enumerate(requests):
        if not isinstance(item, dict):
            raise BadInput(f"edit {k + 1} is not an object", "send {id, action, value, level}")
        row = {"id": item.get("id"), "action": item.get("action"), "value": str(item.get("value", "")),
               "level": item.get("level", "clip"), "_where": f"edit {k + 1}"}
        check_request(row)
        rows.append(row)
    message = str(body.get("message", "")).strip()
    if not message:
        raise BadInput("the change set has no message", "say what it does and why")
    async with state.change_lock:
        try:  # one worker: a retime's re-derive of a few videos is quicker in this process than in new ones
            applied = await run_in_threadpool(apply_requests, ws, revision, rows, message, bool(body.get("rebase")), 1,
                                              _optional_text(body, "author") or state.author)
        except Conflict as exc:  # the page shows what changed meanwhile and applies only what its user confirms
            return _stale_edit(state, exc, revision, edit_from_requests(ws.tables, revision, split_retimes(rows)[0]))
    head, touched = applied.head, applied.committed.val_touched if applied.committed else 0
    return JSONResponse({"revision": head.ref, "number": head.number, "counts": head.counts, "retimed": applied.moved,
                         "warning": VAL_WARNING.format(n=touched) if touched else None})


def _stale_edit(state: AppState, exc: Conflict, base, edit) -> JSONResponse:
    ws = state.ws
    head = ws.tables.head(base.dataset, base.table)
    changed = changed_meanwhile(ws.tables, base, head, edit)
    parent, parent_of = state.parents(base)
    if parent:  # a change staged on a video is marked through its clips
        changed = [{**c, "parent": parent_of.get(c["id"])} for c in changed]
    body = {**_error_body(exc), "base": base.ref, "head": head.ref, "head_number": head.number,
            "changed": changed}
    return JSONResponse(json_value(body), status_code=409)


def index(request: Request) -> Response:
    state = _state(request)
    return Response(state.index_page, media_type="text/html", headers={"Cache-Control": "no-store"})


def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:  # a fixed list: nothing else of the package or the disk is reachable
        raise NotFound(f"no asset {name!r}", "reload the page")
    return Response((STATIC / name).read_bytes(), media_type=ASSETS[name])


ROUTES = [Route("/", index), Route("/static/{name:path}", static),
          Route("/api/tables", tables), Route("/api/log", log),
          Route("/api/samples", samples, methods=["GET", "POST"]), Route("/api/map", embedding_map),
          Route("/api/neighbours", nearest),
          Route("/api/clip", clip), Route("/api/words", words), Route("/api/diff", diff),
          Route("/api/suggestions", suggestions),
          Route("/api/runs", runs), Route("/api/run", run), Route("/api/compare", compare_runs),
          Route("/api/frames/{dataset}/{frame_id:path}", frame), Route("/api/edits", edits, methods=["POST"]),
          Route("/api/tag", tag, methods=["POST"]), Route("/api/revert", revert, methods=["POST"]),
          Route("/api/predict-events", predict_run_events, methods=["POST"])]


def _error_response(request: Request, exc: CurateError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
    return JSONResponse(_error_body(exc), status_code=status)


def _error_body(exc: CurateError) -> dict:
    fix = exc.fix
    return {"problem": exc.problem, "message": str(exc),
            "fix": fix and {"text": fix.text, "action": fix.action, "params": fix.params}}


def _text(params, name: str) -> str:
    """A required text parameter (query string or JSON body)."""
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise BadInput(f"no {name} given", f"give {name}")
    return value


def _optional_text(params, name: str) -> str | None:
    """An optional text parameter: None when absent or empty; anything but text (a number, a list) is refused."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadInput(f"{name} must be text", f"send {name} as a string")
    return value


def _int(params, name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    try:
        value = default if text is None else int(text) if isinstance(text, (str, int)) else low - 1
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadInput(f"{name} {str(text)[:40]!r} is invalid", f"use a whole number from {low} to {high}")
    return value


async def _json(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise BadInput("the request body is not JSON", "send a JSON object") from None
    except RecursionError:
        raise BadInput("the request body is nested too deeply", "send a flat JSON object") from None
    if not isinstance(body, dict):
        raise BadInput("the request body is not a JSON object", "send a JSON object")
    return body
