"""The dashboard's JSON API: the same library calls as the CLI, over HTTP, for the browser page.

Security (it edits user data): requests whose Host header is not one this server was started for are refused
(DNS rebinding); state-changing requests need the per-launch token in `X-Curate-Token` (CSRF); from the browser
come only table references, run references, filters in the safe language, ids and frame ids — never a path.
Library errors come back as JSON {problem, fix: {text, action, params}} with 400 (404 unknown, 409 conflict).
"""
from __future__ import annotations

import hmac
import html
import re
from pathlib import Path

import pyarrow as pa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from curation.errors import BadInput, Conflict, CurateError, NotFound
from curation.ingest.frame_cache import FrameReader
from curation.review.metrics import revision_with_metrics
from curation.tables.requests import check_request, edit_from_requests, page

MAX_PAGE = 1000
STATIC = Path(__file__).with_name("static")
ASSETS = {"app.js": "text/javascript", "style.css": "text/css"}
FRAME_ID = re.compile(r"^[^/\\\x00]+:\d+$")  # <video_id>:<index>, looked up in the cache, never opened as a path


def create_app(ws, token: str, hosts: set[str]) -> Starlette:
    """The API over workspace `ws`; `hosts`: the Host header values to accept (e.g. {"127.0.0.1:5016"})."""

    async def tables(request: Request) -> JSONResponse:
        specs = sorted(ws.tables.list_tables(), key=lambda s: (s.dataset, s.name))
        return JSONResponse({"current": ws.dataset, "tables": [
            {"dataset": s.dataset, "name": s.name, "kind": s.kind, "head": ws.tables.head(s.dataset, s.name).number,
             "tags": ws.tables.tags(s.dataset, s.name)} for s in specs]})

    async def log(request: Request) -> JSONResponse:
        head = ws.resolve(_arg(request, "table"))
        return JSONResponse({"table": f"{head.dataset}/{head.table}", "revisions": [
            {"number": r.number, "parent": r.parent, "created": r.created, "message": r.message, "op": r.op,
             "rows": r.rows, "counts": r.counts} for r in reversed(ws.tables.revisions(head.dataset, head.table))]})

    async def samples(request: Request) -> JSONResponse:
        revision = ws.resolve(_arg(request, "table"))
        table = revision_with_metrics(ws, revision, request.query_params.get("run") or None)
        offset, limit = _int(request, "offset", 0, 0, 10**9), _int(request, "limit", 100, 1, MAX_PAGE)
        columns = [c for c in request.query_params.get("columns", "").split(",") if c] or None
        rows, total = page(table, request.query_params.get("where") or None, request.query_params.get("sort"),
                           request.query_params.get("desc") == "1", offset, limit, columns)
        return JSONResponse({"table": revision.ref, "total": total, "offset": offset,
                             "columns": rows.column_names, "rows": _json_rows(rows)})

    async def frame(request: Request) -> Response:
        dataset, fid = request.path_params["dataset"], request.path_params["frame_id"]
        if not FRAME_ID.match(fid) or dataset not in {s.dataset for s in ws.tables.list_tables()}:
            raise NotFound(f"no frame {fid!r} in dataset {dataset!r}", "ask for a frame id of a clip")
        reader = FrameReader(ws.cache_dir(dataset))
        if fid not in reader:
            raise NotFound(f"frame {fid} is not in the frame cache of {dataset}", "re-ingest the dataset")
        return Response(reader.read([fid])[0], media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    async def edits(request: Request) -> JSONResponse:
        body = await _json(request)
        revision = ws.resolve(str(body.get("table", "")))  # TABLE@N: the revision the page showed (the base)
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
        edit = edit_from_requests(ws.tables, revision, rows)
        new = ws.tables.edit(revision.dataset, revision.table, edit, message=message, base=revision.number,
                             rebase=bool(body.get("rebase")))
        return JSONResponse({"revision": new.ref, "number": new.number, "counts": new.counts})

    async def index(request: Request) -> Response:
        page = (STATIC / "index.html").read_text().replace("__CURATE_TOKEN__", html.escape(token, quote=True))
        return Response(page, media_type="text/html", headers={"Cache-Control": "no-store"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:  # a fixed list: nothing else of the package or the disk is reachable
            raise NotFound(f"no asset {name!r}", "reload the page")
        return Response((STATIC / name).read_bytes(), media_type=ASSETS[name])

    routes = [Route("/", index), Route("/static/{name}", static),
              Route("/api/tables", tables), Route("/api/log", log), Route("/api/samples", samples),
              Route("/api/frames/{dataset}/{frame_id}", frame), Route("/api/edits", edits, methods=["POST"])]
    middleware = [Middleware(_Guard, token=token, hosts=hosts)]
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={CurateError: _error_response})


class _Guard(BaseHTTPMiddleware):
    """Refuse foreign Host headers (DNS rebinding) and state changes without the launch token (CSRF)."""

    def __init__(self, app, token: str, hosts: set[str]):
        super().__init__(app)
        self.token, self.hosts = token, hosts

    async def dispatch(self, request: Request, call_next):
        if request.headers.get("host", "") not in self.hosts:
            return JSONResponse({"problem": "this server answers only to its own address"}, status_code=421)
        if request.method not in ("GET", "HEAD") and not hmac.compare_digest(
                request.headers.get("x-curate-token", ""), self.token):
            return JSONResponse({"problem": "a change needs the token this dashboard was started with"},
                                status_code=403)
        return await call_next(request)


def _error_response(request: Request, exc: CurateError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 409 if isinstance(exc, Conflict) else 400
    fix = exc.fix
    return JSONResponse({"problem": exc.problem, "message": str(exc),
                         "fix": fix and {"text": fix.text, "action": fix.action, "params": fix.params}},
                        status_code=status)


def _arg(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise BadInput(f"no {name} given", f"pass ?{name}=…")
    return value


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    try:
        value = default if text is None else int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise BadInput(f"{name} {text!r} is invalid", f"use a whole number from {low} to {high}")
    return value


async def _json(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise BadInput("the request body is not JSON", "send a JSON object") from None
    if not isinstance(body, dict):
        raise BadInput("the request body is not a JSON object", "send a JSON object")
    return body


def _json_rows(table: pa.Table) -> list[dict]:
    """Rows as JSON values: NaN becomes null, binary and list columns are left out of the cell values."""
    rows = table.to_pylist()
    for row in rows:
        for key, value in row.items():
            if isinstance(value, float) and value != value:
                row[key] = None
            elif isinstance(value, (bytes, list)):
                row[key] = None
    return rows
