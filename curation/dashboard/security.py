"""Who may use the dashboard, and what every answer carries.

- Host check (DNS rebinding): only the addresses the server was started for, local IP addresses when it listens
  on every interface, and names given with `allow`; anything else gets 421.
- Access token (when set; always off loopback): EVERY request needs it. A browser proves it once, with
  `?token=` on the printed URL or the login form; the server then sets an HttpOnly, SameSite=Strict cookie
  holding a per-launch session value (never the token) and redirects to the bare URL. Scripts send
  `Authorization: Bearer TOKEN`. Without it: 401, a small login page for HTML, JSON for the API.
- CSRF: changes also need the per-launch value the page carries in `X-Curate-Token` (so another site cannot
  post with the user's cookie or on an open loopback server).
- Read-only: every change is refused with 403.
- Headers on every answer: no framing, no sniffing, no referrer, a content security policy without inline
  script (the page's one inline import map is allowed by its hash).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import html
import ipaddress
import re
import secrets
import socket
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qs, urlencode

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

COOKIE = "curate_session"
MAX_LOGIN_BODY = 4096
SAFE_METHODS = ("GET", "HEAD")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)


@dataclass(frozen=True)
class Access:
    """What the guard enforces. `csrf`: the per-launch value the page sends with changes; `token`: the access
    token every request needs (None: an open loopback server); `listen`: the address the server is bound to."""
    listen: str
    port: int
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token: str | None = None
    read_only: bool = False
    allow: tuple[str, ...] = ()
    session: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    def host_allowed(self, host: str) -> bool:
        """Host header `host` (name[:port]) names this server: its own address, a loopback name when it listens
        on loopback or everywhere, a local IP address when it listens everywhere, or a name in `allow`."""
        name, port = _split_host(host)
        if port not in (None, self.port):
            return False
        allowed = {a.lower() for a in self.allow}  # NAME, or NAME:PORT as --allow-host takes it
        if name.lower() in allowed or host.lower() in allowed:
            return True
        if port is None:  # only an allowed name may come without the port (behind a reverse proxy)
            return False
        if name == _bracketless(self.listen):
            return True
        loopback_names = {"localhost", "127.0.0.1", "::1"}
        if is_loopback(self.listen):
            return name in loopback_names
        if is_wildcard(self.listen):
            return name in loopback_names or is_local_address(name)
        return False


def same(given: str | None, expected: str) -> bool:
    """Constant-time comparison of secrets, whatever characters `given` holds."""
    return given is not None and hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(_bracketless(host)).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(_bracketless(host)).is_unspecified
    except ValueError:
        return False


@lru_cache(maxsize=256)
def is_local_address(name: str) -> bool:
    """`name` is an IP address of this machine (binding to it succeeds only then). A name never counts: a
    rebinding attack comes with a name, so names must be allowed one by one."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True


def _bracketless(host: str) -> str:
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def _split_host(host: str) -> tuple[str, int | None]:
    """'name:port', '[v6]:port', 'name' → (name, port or None); a malformed port gives port -1."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif host.count(":") == 1:
        name, port = host.split(":")
    else:
        name, port = host, None
    if port is None:
        return name, None
    return name, int(port) if port.isdigit() and len(port) <= 5 else -1


def content_security_policy(page: str) -> str:
    """No inline script but the page's own (by hash), nothing from another origin, no framing."""
    hashes = [f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
              for s in INLINE_SCRIPT.findall(page)]
    # 'unsafe-eval': the vendored WebGL scatterplot (regl) compiles its draw commands with Function(); no inline
    # script runs but the page's own import map, and the page shows data as text, never as HTML
    return "; ".join(["default-src 'self'", " ".join(["script-src 'self' 'unsafe-eval'", *hashes]),
                      "img-src 'self' data:",
                      "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"])


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>curate dashboard: sign in</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/style.css"></head>
<body class="login"><main><h1>curate dashboard</h1>
<p class="error">{message}</p>
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>token <input type="password" name="token" autocomplete="current-password" autofocus></label>
<button type="submit" class="primary">sign in</button></form>
<p class="hint">The token was printed where the dashboard was started (<code>curate dashboard</code>).</p>
</main></body></html>
"""
PUBLIC = {"/static/style.css"}  # what the sign-in page needs before its token: a stylesheet, no data


class Guard(BaseHTTPMiddleware):
    def __init__(self, app, access: Access, csp: str):
        super().__init__(app)
        self.access, self.csp = access, csp

    async def dispatch(self, request: Request, call_next) -> Response:
        answer = await self._answer(request, call_next)
        answer.headers.update({"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                               "Referrer-Policy": "no-referrer", "Content-Security-Policy": self.csp})
        return answer

    async def _answer(self, request: Request, call_next) -> Response:
        access = self.access
        if not access.host_allowed(request.headers.get("host", "")):
            return JSONResponse({"problem": "this server answers only to its own address",
                                 "fix": {"text": "open the address the dashboard printed, or start it with that "
                                                 "name allowed"}}, status_code=421)
        if access.token is not None and not (request.url.path in PUBLIC and request.method in SAFE_METHODS):
            if request.url.path == "/login" and request.method == "POST":
                return await self._login(request)
            if "token" in request.query_params and request.method in SAFE_METHODS:
                return self._login_by_url(request)
            if not self._signed_in(request):
                return self._refuse(request, "this dashboard needs its token")
        if request.method not in SAFE_METHODS:
            if access.read_only:
                return JSONResponse({"problem": "this dashboard is read-only",
                                     "fix": {"text": "ask whoever started it for a copy you may change"}},
                                    status_code=403)
            if not same(request.headers.get("x-curate-token"), access.csrf):
                return JSONResponse({"problem": "a change needs the token this dashboard was started with",
                                     "fix": {"text": "reload the page"}}, status_code=403)
        return await call_next(request)

    def _signed_in(self, request: Request) -> bool:
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            return same(authorization[7:].strip(), self.access.token)
        return same(request.cookies.get(COOKIE), self.access.session)

    def _refuse(self, request: Request, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"problem": message, "fix": {"text": "open the URL the dashboard printed (with "
                                                                    "its token), or send Authorization: Bearer"}},
                                status_code=401)
        return self._login_page(message, request.url.path)

    def _login_page(self, message: str, next_path: str) -> Response:
        page = LOGIN_PAGE.format(message=html.escape(message), next=html.escape(_local_path(next_path), quote=True))
        return HTMLResponse(page, status_code=401, headers={"Cache-Control": "no-store"})

    def _signed_in_redirect(self, target: str) -> Response:
        answer = RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})
        answer.set_cookie(COOKIE, self.access.session, httponly=True, samesite="strict", path="/")
        return answer

    def _login_by_url(self, request: Request) -> Response:
        """`?token=` proves the browser once: a cookie, and the same URL without the token."""
        if not same(request.query_params.get("token"), self.access.token):
            return self._refuse(request, "that token is not the one this dashboard was started with")
        rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
        return self._signed_in_redirect(request.url.path + (f"?{urlencode(rest)}" if rest else ""))

    async def _login(self, request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_LOGIN_BODY:
                return self._login_page("that sign-in form is too large", "/")
        form = parse_qs(body.decode("utf-8", "replace"))
        next_path = _local_path((form.get("next") or ["/"])[0])
        if not same((form.get("token") or [""])[0], self.access.token):
            return self._login_page("that token is not the one this dashboard was started with", next_path)
        return self._signed_in_redirect(next_path)


def _local_path(path: str) -> str:
    """A path on this server to return to after signing in (never another site's URL)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"
