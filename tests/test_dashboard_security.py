"""Who may use the dashboard, against a real `curate dashboard` server (and real Chromium where a page is
involved): the token guards every request, a browser proves it once and gets a cookie, answers never carry the
token, foreign Host headers and framing are refused, read-only refuses changes, and every interface serves an
honest client."""
import json
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import CHROMIUM, assert_accessible, free_port, needs_chromium
from curation.dashboard.security import Access

TOKEN = "t0ken-for-the-test-x9"


def _start(ws_dir, *args, port=None):
    """`curate dashboard` on 127.0.0.1 with `args`; (base URL, process, its first line)."""
    port = port or free_port()
    server = subprocess.Popen([sys.executable, "-m", "curation.cli", "dashboard", "-w", str(ws_dir), "--port",
                               str(port), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    first = server.stdout.readline()
    url = f"http://127.0.0.1:{port}/"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "api/tables", timeout=1)
            break
        except urllib.error.HTTPError:  # answering (with a refusal): up
            break
        except OSError:
            time.sleep(0.1)
    return url, server, first


def _stop(server) -> str:
    server.terminate()
    out, _ = server.communicate(timeout=10)
    return out


def _get(url: str, headers: dict | None = None, method: str = "GET", body: bytes | None = None):
    """(status, headers, body text) without following redirects."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, headers=headers or {}, method=method, data=body)
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as answer:
            return answer.status, answer.headers, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@pytest.fixture
def guarded(reviewed_ws):
    url, server, first = _start(reviewed_ws, "--token", TOKEN)
    yield url, reviewed_ws, first
    assert TOKEN not in _stop(server)  # nothing the server logged after its start line


@pytest.mark.slow
def test_every_request_needs_the_token_and_no_answer_carries_it(guarded):
    url, ws_dir, first = guarded
    assert f"token={TOKEN}" in first  # printed once, as the URL to open
    from curation.workspace import Workspace

    frame = Workspace.open(ws_dir).tables.read(Workspace.open(ws_dir).resolve("frames"), ["frame_id"])["frame_id"][0]
    for path, kind in (("", "html"), ("api/tables", "json"), ("api/samples?table=clips", "json"),
                       (f"api/frames/nexar/{frame}", "json"), ("static/app.js", "html")):
        status, headers, body = _get(url + path)
        assert status == 401 and TOKEN not in body, (path, status)
        assert ("<form" in body) == (kind == "html"), path  # a page asks for the token; the API says why in JSON
    edit = json.dumps({"table": "clips@1", "message": "x", "edits": [{"id": "a", "action": "delete"}]}).encode()
    assert _get(url + "api/edits", {"content-type": "application/json"}, "POST", edit)[0] == 401
    for wrong in ("wrong", TOKEN + "x", "tökén"):
        assert _get(url + "api/tables", {"authorization": f"Bearer {wrong}".encode().decode("latin-1")})[0] == 401
        status, _, body = _get(url + f"?token={urllib.parse.quote(wrong)}")
        assert status == 401 and "not the one this dashboard" in body and TOKEN not in body
    status, _, body = _get(url + "api/tables", {"authorization": f"Bearer {TOKEN}"})  # a script's way in
    assert status == 200 and TOKEN not in body

    status, headers, _ = _get(url + f"?table=clips&token={TOKEN}")  # the browser's way in: a cookie, no token
    assert status == 303 and headers["location"] == "/?table=clips"
    cookie = headers["set-cookie"]
    assert TOKEN not in cookie and "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    session = cookie.split(";")[0]
    status, headers, page = _get(url, {"cookie": session})
    assert status == 200 and TOKEN not in page and "curate-token" in page
    for name, value in (("x-frame-options", "DENY"), ("x-content-type-options", "nosniff"),
                        ("referrer-policy", "no-referrer")):
        assert headers[name] == value
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    csrf = re.search(r'name="curate-token" content="([^"]+)"', page).group(1)
    refused = _get(url + "api/edits", {"cookie": session, "content-type": "application/json"}, "POST", edit)
    assert refused[0] == 403  # signed in, yet a change still needs the page's own value (CSRF)
    accepted = _get(url + "api/edits", {"cookie": session, "content-type": "application/json",
                                         "x-curate-token": csrf}, "POST", edit)
    assert accepted[0] in (400, 404) and json.loads(accepted[2])["problem"]  # past the guard: the library answers

    form = urllib.parse.urlencode({"token": TOKEN, "next": "//evil.example/"}).encode()
    status, headers, _ = _get(url + "login", {"content-type": "application/x-www-form-urlencoded"}, "POST", form)
    assert status == 303 and headers["location"] == "/"  # the login form, never sending anyone elsewhere


@pytest.mark.slow
@needs_chromium
def test_a_browser_signs_in_once_and_the_page_never_sees_the_token(guarded):
    from playwright.sync_api import sync_playwright

    url, _, _ = guarded
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(f"{m.text} ({m.location.get('url')})")
                if m.type == "error" else None)
        page.goto(url)
        assert page.locator("input[name=token]").count() == 1  # the login page
        assert page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") == "420px"  # styled
        assert_accessible(page, "the login page")
        page.fill("input[name=token]", "wrong")
        page.click("button[type=submit]")
        assert "not the one this dashboard" in page.content()
        errors.clear()  # the login page's own 401s
        page.goto(url + f"?token={TOKEN}")
        page.wait_for_function("() => document.querySelector('#table').options.length > 0")
        # the thumbnails' frames come with the session cookie alone
        page.wait_for_function("() => [...document.querySelectorAll('#tiles .tile img')].some((i) => i.complete "
                               "&& i.naturalWidth > 0)")
        assert page.url == url and TOKEN not in page.content()
        assert page.evaluate("document.cookie") == ""  # HttpOnly: no script reads the session
        cookie = next(c for c in page.context.cookies() if c["name"] == "curate_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
        assert errors == []  # the page runs under its content security policy
        browser.close()


@pytest.mark.slow
@needs_chromium
def test_a_page_of_another_origin_cannot_frame_the_dashboard(reviewed_ws, tmp_path):
    from playwright.sync_api import sync_playwright

    url, server, _ = _start(reviewed_ws)  # loopback without a token: the headers are the only defence here
    other = tmp_path / "site"
    other.mkdir()
    (other / "index.html").write_text(f'<iframe id="victim" src="{url}" width="800" height="600"></iframe>')
    port = free_port()
    site = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=other,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            for _ in range(100):
                try:
                    page.goto(f"http://127.0.0.1:{port}/")
                    break
                except Exception:
                    time.sleep(0.1)
            page.wait_for_timeout(1500)
            framed = [f for f in page.frames if f != page.main_frame]
            assert framed and all(f.url != url or f.query_selector("#table") is None for f in framed)
            page.goto(url)  # the same page opened directly renders
            page.wait_for_function("() => document.querySelector('#table').options.length > 0")
            browser.close()
    finally:
        site.terminate()
        _stop(server)


@pytest.mark.slow
def test_read_only_serves_views_and_refuses_every_change(reviewed_ws):
    from curation.workspace import Workspace

    url, server, first = _start(reviewed_ws, "--read-only")
    try:
        assert "read-only" in first
        status, _, page = _get(url)
        assert status == 200
        csrf = re.search(r'name="curate-token" content="([^"]+)"', page).group(1)
        body = json.dumps({"table": "clips@1", "message": "x", "edits": [{"id": "a", "action": "delete"}]}).encode()
        for path in ("api/edits", "api/tag", "api/revert"):
            status, _, answer = _get(url + path, {"content-type": "application/json", "x-curate-token": csrf},
                                     "POST", body)
            assert status == 403 and "read-only" in answer, path
        assert _get(url + "api/tables")[0] == 200
    finally:
        _stop(server)
    assert Workspace.open(reviewed_ws).tables.head("nexar", "clips").number == 1


@pytest.mark.slow
def test_allowed_names_pass_the_host_check_and_others_do_not(reviewed_ws):
    port = free_port()
    url, server, _ = _start(reviewed_ws, "--allow-host", "team.example", port=port)
    try:
        assert _get(url + "api/tables", {"host": f"team.example:{port}"})[0] == 200
        assert _get(url + "api/tables", {"host": "team.example"})[0] == 200  # behind a proxy, without the port
        assert _get(url + "api/tables", {"host": f"localhost:{port}"})[0] == 200
        for foreign in (f"evil.example:{port}", f"team.example:{port + 1}", "", f"team.example.evil:{port}"):
            assert _get(url + "api/tables", {"host": foreign})[0] == 421, foreign
    finally:
        _stop(server)


def test_the_host_rule_for_every_interface_takes_local_addresses_never_names():
    every = Access("0.0.0.0", 5016, token="t")
    assert every.host_allowed("127.0.0.1:5016") and every.host_allowed("localhost:5016")
    assert not every.host_allowed("192.0.2.7:5016")  # TEST-NET-1: never this machine's
    assert not every.host_allowed("rebind.example:5016") and not every.host_allowed("127.0.0.1:5017")
    assert not every.host_allowed("127.0.0.1")  # a bare address: only an allowed name may omit the port
    one = Access("192.0.2.7", 5016, token="t", allow=("box.lan",))
    assert one.host_allowed("192.0.2.7:5016") and one.host_allowed("box.lan:5016")
    assert not one.host_allowed("127.0.0.1:5016")
    with_port = Access("127.0.0.1", 5016, allow=("Box.lan:5016",))  # --allow-host NAME:PORT
    assert with_port.host_allowed("box.lan:5016") and not with_port.host_allowed("box.lan")
    assert not with_port.host_allowed("box.lan:5017")


@pytest.mark.slow
def test_every_interface_serves_an_honest_client(ws_dir, tmp_path):
    """--host 0.0.0.0 in a network namespace of its own (only its loopback exists there, so nothing of this
    machine is exposed): the printed URL's token lets an honest client in; a foreign Host is still refused."""
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs a network namespace (unshare -n)")
    port = free_port()
    driver = tmp_path / "driver.py"
    driver.write_text(textwrap.dedent(f"""
        import json, subprocess, sys, time, urllib.request, urllib.error
        subprocess.run(["ip", "link", "set", "lo", "up"])
        server = subprocess.Popen([sys.executable, "-m", "curation.cli", "dashboard", "-w", {str(ws_dir)!r},
                                   "--host", "0.0.0.0", "--port", "{port}"], stdout=subprocess.PIPE, text=True)
        first = server.stdout.readline()
        token = first.split("token=")[1].split()[0] if "token=" in first else ""
        def status(path, host, auth=True):
            headers = {{"host": host, **({{"authorization": "Bearer " + token}} if auth else {{}})}}
            request = urllib.request.Request("http://127.0.0.1:{port}/" + path, headers=headers)
            for _ in range(300):
                try:
                    return urllib.request.urlopen(request, timeout=2).status
                except urllib.error.HTTPError as error:
                    return error.code
                except OSError:
                    time.sleep(0.1)
        result = {{"first": first, "honest": status("api/tables", "127.0.0.1:{port}"),
                   "no_token": status("api/tables", "127.0.0.1:{port}", auth=False),
                   "foreign": status("api/tables", "evil.example:{port}")}}
        server.terminate()
        print(json.dumps(result))
    """))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.run(["unshare", "-n", sys.executable, str(driver)], capture_output=True, text=True, env=env,
                          timeout=180)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "token=" in result["first"] and "0.0.0.0" not in result["first"]
    assert (result["honest"], result["no_token"], result["foreign"]) == (200, 401, 421)
