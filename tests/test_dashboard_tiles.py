"""The thumbnail grid in a real browser (Debian's Chromium driven by Playwright) against `curate dashboard` on a
workspace of three layouts: every tile shows a decoded frame of its clip for nexar, class-folder and events
datasets; hovering a tile plays its clip; only the tiles in view exist; a lasso on the map shows exactly its clips;
a band dragged over tiles selects them;
the keyboard moves through the tiles and stages a delete that is committed with its author, shown in
`curate log`."""
import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from conftest import CHROMIUM, assert_accessible, curate, needs_chromium, running_dashboard, watched_page
from test_dashboard_browser import _box_left_of_a_gap, screen_x_of_cut
from curation.workspace import Workspace

pytestmark = [pytest.mark.slow,
              needs_chromium]


def shots(_) -> Path:
    """Where screenshots go: $CURATE_SCREENSHOTS when set, else nowhere kept."""
    import os
    import tempfile

    folder = Path(os.environ.get("CURATE_SCREENSHOTS") or tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def three_layouts(reviewed_ws, prebuilt, tmp_path):
    """The reviewed nexar workspace plus a class-folders dataset and an events dataset made of the same videos."""
    videos = sorted((prebuilt / "data" / "train").glob("*.mp4"))[:6]
    folders = tmp_path / "ucf"
    for k, video in enumerate(videos):
        name = ("Biking", "Diving")[k % 2]
        (folders / name).mkdir(parents=True, exist_ok=True)
        shutil.copy(video, folders / name / f"v_{name}_g{k:02d}_c01.mp4")
    events = tmp_path / "splits"
    events.mkdir()
    lines = ["path,group,split,event_s"]
    for k, video in enumerate(videos):
        shutil.copy(video, events / f"run{k}.mp4")
        lines.append(f"run{k}.mp4,g{k},{'val' if k >= 4 else 'train'},2.0")
    (events / "events.csv").write_text("\n".join(lines) + "\n")
    for args in (["folders", folders, "--name", "ucf"], ["events", events / "events.csv", "--clip-seconds", "1"]):
        proc = curate("-w", reviewed_ws, "ingest", *args, "--frame-size", "32")
        assert proc.returncode == 0, proc.stderr
    with running_dashboard(reviewed_ws) as url:
        yield url, Workspace.open(reviewed_ws)


def test_thumbnails_show_play_scroll_and_the_keyboard_commits_with_its_author(three_layouts):
    from playwright.sync_api import sync_playwright

    url, ws = three_layouts
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page, errors = watched_page(browser, viewport={"width": 1440, "height": 900})
        for table in ("ucf/clips", "events/clips", "nexar/clips"):  # thumbnails are the default view
            page.goto(f"{url}?table={table}")
            page.wait_for_function("() => Array.from(document.querySelectorAll('#tiles .tile img')).filter("
                                   "(i) => i.complete && i.naturalWidth > 0).length >= 4")
            assert_accessible(page, f"samples of {table} (thumbnails)")
            ids = page.eval_on_selector_all("#tiles .tile", "tiles => tiles.map((t) => t.dataset.id)")
            head = ws.tables.read(ws.tables.head(*table.split("/")))
            assert set(ids) <= set(head["clip_id"].to_pylist()) and len(ids) < head.num_rows  # only those in view
        total = ws.tables.head("nexar", "clips").rows
        assert page.text_content("#count") == f"{total} clips"

        first = page.locator("#tiles .tile").first
        still = first.locator("img").get_attribute("src")
        first.hover()  # the clip plays in place: its frames in turn
        page.wait_for_function("(still) => { const i = document.querySelector('#tiles .tile img'); "
                               "return i.getAttribute('src') !== still && i.complete && i.naturalWidth > 0; }",
                               arg=still)

        page.evaluate("() => { const t = document.querySelector('#tiles'); t.scrollTop = t.scrollHeight; }")
        last = ws.tables.read(ws.tables.head("nexar", "clips"))["clip_id"][total - 1].as_py()
        page.wait_for_selector(f"#tiles .tile[data-id='{last}'] img")  # the last page, fetched when scrolled to
        assert page.locator("#tiles .tile").count() < total

        # a freeform lasso on the map: the thumbnails show exactly the clips inside it, selected
        run = ws.runs.resolve("last")
        points = json.loads(urllib.request.urlopen(f"{url}api/map?table=nexar/clips@1&run={run}").read())
        cut, inside = _box_left_of_a_gap(points)
        page.wait_for_function("() => document.querySelector('#map-canvas').dataset.points > 0")
        wide = page.locator("#map-canvas").bounding_box()["width"]
        assert wide >= 720  # half of a 1440-px screen at least
        assert page.is_visible("#clip-empty") and not page.is_visible("#clip-frame")  # no black box: words
        splitter = page.locator("#splitter")  # the panes resize: the samples' share of the width, by keyboard
        splitter.focus()
        page.keyboard.press("ArrowLeft")
        assert splitter.get_attribute("aria-valuenow") == "50"
        page.wait_for_function("(wide) => document.querySelector('#map-canvas').getBoundingClientRect().width "
                               "< wide - 50", arg=wide)
        before = page.evaluate("performance.now()")
        page.keyboard.press("ArrowRight")  # back: the map is drawn again at its width before the lasso
        page.wait_for_function("([wide, before]) => window.curateMap.drawnAt > before && document.querySelector("
                               "'#map-canvas').getBoundingClientRect().width >= wide - 1", arg=[wide, before])
        page.select_option("#drag", "lasso")
        box = page.locator("#map-canvas").bounding_box()
        right = screen_x_of_cut(page, points, cut)
        corners = [(box["x"] + 3, box["y"] + 3), (right, box["y"] + 3), (right, box["y"] + box["height"] - 3),
                   (box["x"] + 3, box["y"] + box["height"] - 3), (box["x"] + 3, box["y"] + 3)]
        page.mouse.move(*corners[0])
        page.mouse.down()
        for (x0, y0), (x1, y1) in zip(corners, corners[1:]):  # the lasso's path, in small steps along each side
            for k in range(1, 11):
                page.mouse.move(x0 + (x1 - x0) * k / 10, y0 + (y1 - y0) * k / 10)
        page.mouse.up()
        page.wait_for_function(f"() => document.querySelector('#count').textContent === '{len(inside)} clips'")
        page.wait_for_selector("#tiles .tile img")
        shown = page.eval_on_selector_all("#tiles .tile", "tiles => tiles.map((t) => [t.dataset.id, t.className])")
        assert shown and all(i in inside and "selected" in c.split() for i, c in shown)
        page.click("#clear-selection")
        page.uncheck("#only-selected")
        page.select_option("#drag", "pan")
        page.wait_for_function(f"() => document.querySelector('#count').textContent === '{total} clips'")

        page.evaluate("() => { document.querySelector('#tiles').scrollTop = 0; }")
        page.wait_for_selector(f"#tiles .tile[data-id='{ids[2]}'] img")
        a, c = (page.locator(f"#tiles .tile[data-id='{ids[k]}']").bounding_box() for k in (0, 2))
        page.mouse.move(a["x"] + 10, a["y"] + 10)  # a band from the first tile to the third, in the first row
        page.mouse.down()
        page.mouse.move(a["x"] + 40, a["y"] + 20, steps=3)
        page.mouse.move(c["x"] + 20, c["y"] + 20, steps=5)
        page.mouse.up()
        page.wait_for_function("() => document.querySelector('#selection-count').textContent.startsWith('3 clip(s)')")
        assert page.eval_on_selector_all("#tiles .tile.selected", "t => t.map((x) => x.dataset.id)") == ids[:3]
        page.locator(f"#tiles .tile[data-id='{ids[0]}']").click()
        page.wait_for_function(f"() => document.querySelector('#clip-title').textContent.startsWith({ids[0]!r})")
        page.keyboard.press("j")  # the next tile: selected alone, shown in the viewer
        page.wait_for_function(f"() => document.querySelector('#clip-title').textContent.startsWith({ids[1]!r})")
        assert page.get_attribute(f"#tiles .tile[data-id='{ids[1]}']", "class").split() == ["tile", "selected",
                                                                                              "current"]
        page.keyboard.press("d")
        assert page.text_content("#pending") == "delete on 1 clip(s)"
        assert "staged: delete" in page.text_content(f"#tiles .tile[data-id='{ids[1]}'] .badges")
        page.fill("#message", "one clip too dark")
        page.fill("#author", "Ada")
        page.click("#commit")
        page.wait_for_function("() => /^(committed|commit failed)/.test(document.querySelector('#status').textContent)")
        assert page.text_content("#status").startswith("committed nexar/clips@2"), page.text_content("#status")
        page.wait_for_selector("#tiles .tile img")
        page.screenshot(path=str(shots(three_layouts) / "thumbnails.png"))
        dark, dark_errors = watched_page(browser, viewport={"width": 1440, "height": 900}, color_scheme="dark")
        dark.goto(f"{url}?table=nexar/clips")
        dark.wait_for_selector("#tiles .tile img")
        assert dark.evaluate("getComputedStyle(document.body).backgroundColor") != \
            page.evaluate("getComputedStyle(document.body).backgroundColor")  # the dark scheme is its own
        assert_accessible(dark, "samples in the dark scheme")
        browser.close()
    assert dark_errors == []
    assert errors == []
    head = ws.tables.head("nexar", "clips")
    assert head.meta["author"] == "Ada" and head.counts["deleted"] == 1
    assert ids[1] not in ws.tables.read(head)["clip_id"].to_pylist()
    assert "by Ada  one clip too dark" in curate("-w", ws.root, "log", "nexar/clips").stdout
