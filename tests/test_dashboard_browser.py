"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against `curate dashboard` on a
real workspace: the grid pages and filters, the clip viewer shows cached frames, a staged change set commits as
one revision, a stale page gets the conflict, and the page raises no console error."""
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port
from curation.workspace import Workspace

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (.ci/run installs it)")


@pytest.fixture
def dashboard(ws_dir, tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "curation.cli", "dashboard", "-w", str(ws_dir), "--port",
                               str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}/"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "api/tables", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield url, Workspace.open(ws_dir), tmp_path
    server.terminate()
    server.wait(timeout=10)


def test_look_select_and_commit_in_the_browser(dashboard):
    from playwright.sync_api import sync_playwright

    url, ws, out = dashboard
    clips = ws.tables.read(ws.resolve("clips@1")).sort_by("clip_id").to_pylist()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_selector("#grid tbody tr")
        assert page.locator("#grid tbody tr").count() == min(100, len(clips))
        assert page.text_content("#count") == f"1–{min(100, len(clips))} of {len(clips)}"

        page.fill("#where", "label == 1")
        page.click("#filter-form button[type=submit]")
        positives = [c["clip_id"] for c in clips if c["label"] == 1]
        page.wait_for_function(f"document.querySelector('#count').textContent.endsWith('of {len(positives)}')")
        shown = page.eval_on_selector_all("#grid tbody tr", "rows => rows.map(r => r.dataset.id)")
        assert shown == positives[:100]

        page.click("#grid tbody tr:nth-child(1) td:nth-child(3)")  # the clip viewer shows its cached frames
        page.wait_for_function("document.querySelectorAll('#strip img').length > 0 && [...document"
                               ".querySelectorAll('#strip img')].every(i => i.complete && i.naturalWidth > 0)")
        page.screenshot(path=str(out / "dashboard-grid.png"))

        doomed = shown[:3]
        for k in range(3):
            page.check(f"#grid tbody tr:nth-child({k + 1}) input[type=checkbox]")
        page.click("#delete")
        assert page.text_content("#pending li") == "delete on 3 clip(s)"
        page.fill("#message", "deleted in the browser")
        page.click("#commit")
        page.wait_for_function("document.querySelector('#status').textContent.startsWith('committed')")
        head = ws.tables.head("nexar", "clips")
        assert head.number == 2 and head.message == "deleted in the browser"
        assert not set(doomed) & set(ws.tables.read(head, ["clip_id"])["clip_id"].to_pylist())
        assert set(doomed) <= set(ws.tables.read(ws.resolve("clips@1"), ["clip_id"])["clip_id"].to_pylist())

        page.select_option("#revision", "1")  # a page on an old revision: its change overlapping the head conflicts
        page.wait_for_function("document.querySelector('#count').textContent.includes('of')")
        page.check("#grid tbody tr:nth-child(1) input[type=checkbox]")
        page.click("#delete")
        page.fill("#message", "stale")
        page.click("#commit")
        page.wait_for_selector("#conflict:not([hidden])")
        assert "changed" in page.text_content("#conflict-text") or "unknown" in page.text_content("#status")
        assert ws.tables.head("nexar", "clips").number == 2

        page.fill("#where", "__import__('os').system('touch /tmp/pwned')")
        page.click("#filter-form button[type=submit]")
        page.wait_for_selector("#status.error")
        assert not Path("/tmp/pwned").exists()
        errors = [e for e in errors if "409" not in e and "400" not in e]  # refused requests the page reported
        assert errors == []
        browser.close()
