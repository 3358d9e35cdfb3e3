"""Start the dashboard: the API and its page on one address (uvicorn), guarded as security.py says."""
from __future__ import annotations

import secrets
import socket
from urllib.parse import urlencode

from curation.dashboard.security import Access, is_loopback, is_wildcard
from curation.errors import BadInput, exception_line
from curation.tables.commit import check_author


def dashboard_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if is_wildcard(host) else host  # every interface: loopback is one of them
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}/"


def check_can_serve(host: str, port: int) -> None:
    """Bind `host`:`port` once and let go, so that an address that is not this machine's (or not an address at
    all) or a port in use is one line before any URL is printed, not the server's exit after it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind(address)
    except (OSError, UnicodeError) as exc:
        raise BadInput(f"cannot serve on {host}:{port} ({exception_line(exc, 80)})",
                       "give an address of this machine (127.0.0.1 by default) and a free port") from None


def serve(ws, host: str = "127.0.0.1", port: int = 5016, token: str | None = None, echo=print,
          table: str | None = None, run: str | None = None, allow_hosts: tuple[str, ...] = (),
          read_only: bool = False, author: str | None = None) -> None:
    """Serve until interrupted. Off loopback every request needs a token (`token`, or a new one printed once
    in the URL, as Jupyter does); on loopback only when `token` is given. `allow_hosts`: names the Host check
    accepts besides the address served on. `read_only`: views only, every change refused. `table` and `run`:
    what the page shows first (checked before the server starts). `author`: whom the page's commits are recorded
    as made by unless the page names someone (default: the user the server runs as)."""
    import uvicorn

    from curation.dashboard.api import create_app

    start = {}
    if table:
        revision = ws.resolve(table)
        start["table"] = revision.ref if "@" in table else f"{revision.dataset}/{revision.table}"
    if run:
        start["run"] = ws.runs.resolve(run)
    check_can_serve(host, port)
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(24)
    access = Access(host, port, token=token, read_only=read_only, allow=tuple(allow_hosts))
    app = create_app(ws, access, check_author(author) if author else None)
    query = {**start, **({"token": token} if token else {})}
    url = dashboard_url(host, port) + (f"?{urlencode(query)}" if query else "")
    mode = "read-only; " if read_only else ""
    echo(f"curate dashboard: {url} ({mode}workspace {ws.root}; Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
