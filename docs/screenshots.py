"""The README's screenshots of the dashboard, taken from `curate demo`'s workspace in Chromium: the samples as
thumbnails under the embedding map, the clip viewer, the suggestions and the compare view of the demo's two
rounds. Run it again whenever the page changes:

    uv run python docs/screenshots.py [--workspace demo-workspace] [--out docs]

Without the workspace it runs `curate demo` first (a few minutes on 2 cores). Needs Chromium (/usr/bin/chromium,
Debian's package) and the playwright package (`uv sync`)."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # running_dashboard: `curate dashboard` on a free loopback port

from conftest import running_dashboard  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT = {"width": 1440, "height": 900}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", default=str(ROOT / "demo-workspace"))
    ap.add_argument("--out", default=str(ROOT / "docs"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from curation.workspace import Workspace

    workspace, out = Path(args.workspace), Path(args.out)
    if not (workspace / "runs").exists():
        from curation.demo import run_demo

        run_demo(workspace)
    runs = Workspace.open(workspace).runs.runs()
    with running_dashboard(workspace) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{url}?table=nexar/clips&run={runs[0]}")
        page.wait_for_function("() => document.querySelector('#map-canvas').dataset.points > 0")
        page.select_option("#colour", "aum")
        page.wait_for_function("() => document.querySelector('#map-legend').textContent.startsWith('aum')")
        page.wait_for_function("() => [...document.querySelectorAll('#tiles .tile img')].filter((i) => i.complete "
                               "&& i.naturalWidth > 0).length >= 8")
        page.screenshot(path=str(out / "dashboard.png"))

        page.locator("#tiles .tile").nth(2).click()
        page.wait_for_function("() => [...document.querySelectorAll('#strip img')].every((i) => i.complete) "
                               "&& document.querySelectorAll('#timeline svg').length > 0")
        page.locator("#viewer").screenshot(path=str(out / "viewer.png"))

        page.click("#tab-suggestions")
        page.wait_for_selector("#suggestions .suggestion img")
        label_issue = page.locator("#suggestions .group:has(h3:has-text('label issue')) .suggestion .plain").first
        label_issue.click()  # the first label issue, current: shown in the clip pane
        label_issue.scroll_into_view_if_needed()
        page.wait_for_function("() => !document.querySelector('#clip-shown').hidden && [...document.querySelectorAll("
                               "'#strip img')].every((i) => i.complete)")
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / "suggestions.png"))

        page.click("#tab-runs")
        for run in runs:  # the demo's rounds, oldest first: the first is the baseline
            page.locator(f"#runs-list input[value='{run}']").check()
        page.click("#compare-button")
        page.wait_for_selector("#compare-result h3.difference", timeout=120_000)
        page.locator("#view-runs").screenshot(path=str(out / "compare.png"))
        browser.close()
    print(f"wrote {', '.join(str(out / n) for n in ('dashboard.png', 'viewer.png', 'suggestions.png', 'compare.png'))}")


if __name__ == "__main__":
    main()
