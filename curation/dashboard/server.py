"""Start the dashboard: the API and its page on one local address (uvicorn)."""
from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlencode

from curation.errors import BadInput, Fix

LOOPBACK_NAMES = {"localhost"}


def dashboard_url(host: str, port: int) -> str:
    return f"http://{host}:{port}/"


def allowed_hosts(host: str, port: int) -> set[str]:
    """The Host header values the server answers to: its own address (and localhost for a loopback one)."""
    hosts = {f"{host}:{port}"}
    if is_loopback(host):
        hosts |= {f"localhost:{port}", f"127.0.0.1:{port}"}
    return hosts


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(ws, host: str = "127.0.0.1", port: int = 5016, token: str | None = None, echo=print,
          table: str | None = None, run: str | None = None) -> None:
    """Serve until interrupted. A non-loopback address needs an explicit token (anyone who can reach it could
    otherwise change data); on loopback a fresh one is made per launch. `table` and `run`: what the page shows
    first (checked before the server starts)."""
    import uvicorn

    from curation.dashboard.api import create_app

    if not is_loopback(host) and not token:
        raise BadInput(f"serving on {host} lets other machines reach your data",
                       Fix("give a token that changes need", "dashboard_token"))
    start = {}
    if table:
        revision = ws.resolve(table)
        start["table"] = revision.ref if "@" in table else f"{revision.dataset}/{revision.table}"
    if run:
        start["run"] = ws.runs.resolve(run)
    token = token or secrets.token_urlsafe(24)
    app = create_app(ws, token, allowed_hosts(host, port))
    url = dashboard_url(host, port) + (f"?{urlencode(start)}" if start else "")
    echo(f"curate dashboard: {url} (workspace {ws.root}; Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
