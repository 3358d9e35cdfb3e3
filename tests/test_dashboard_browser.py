"""The dashboard in a real browser (Debian's Chromium driven by Playwright) against `curate dashboard` on a real
workspace with a trained run: the map draws a point per clip, a box over a known region selects exactly those
clips, the selection is deleted and committed as a new revision, a video-level weight reaches every clip of its
video, a suggestion accepted in the queue lands in the revision, a stale page gets the conflict, a hostile filter
and a foreign Host header are refused, and no view raises a console error. A screenshot of every view is saved
(to $CURATE_SCREENSHOTS when set, else the test's temporary folder)."""
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pyarrow.compute as pc
import pytest

from conftest import CHROMIUM, assert_accessible, needs_chromium, running_dashboard, watched_page
from curation.review.suggest import suggest
from curation.review.words import COLUMN_HELP, SIGNAL_HELP
from curation.workspace import Workspace

pytestmark = [pytest.mark.slow,
              needs_chromium]


@pytest.fixture
def dashboard(reviewed_ws, tmp_path):
    shots = Path(os.environ.get("CURATE_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    with running_dashboard(reviewed_ws) as url:
        yield url, Workspace.open(reviewed_ws), shots


def _get(url: str, host: str | None = None):
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, None


def _box_left_of_a_gap(points: dict) -> tuple[float, list[str]]:
    """A cut in x inside the widest gap between points near the middle, and the revision's ids left of it (the
    map's other points, the test clips, are not selectable there)."""
    xs = sorted(points["x"])
    middle = range(len(xs) // 4, 3 * len(xs) // 4)
    k = max(middle, key=lambda i: xs[i + 1] - xs[i])
    cut = (xs[k] + xs[k + 1]) / 2
    editable = zip(points["ids"][:points["editable"]], points["x"])
    return cut, [i for i, x in editable if x < cut]


def screen_x_of_cut(page, points: dict, cut: float) -> float:
    """Where the cut in x lies on the screen: midway between the drawn points either side of it (the map keeps its
    data's aspect in a canvas of any shape, so only the plot knows where a data x is drawn)."""
    xs = points["x"]
    left = max((i for i, x in enumerate(xs) if x < cut), key=lambda i: xs[i])
    right = min((i for i, x in enumerate(xs) if x > cut), key=lambda i: xs[i])
    a, b = page.evaluate("([a, b]) => [a, b].map((i) => window.curateMap.plot.getScreenPosition(i)[0])", [left, right])
    return page.locator("#map-canvas").bounding_box()["x"] + (a + b) / 2


def _wait_text(page, selector: str, predicate: str):
    page.wait_for_function(f"() => {{ const t = document.querySelector({selector!r})?.textContent || ''; "
                           f"return {predicate}; }}")


def _table_page(p, url: str, run: str):
    """(browser, page, its errors): Chromium on the dashboard's numbers table, with `run` picked."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    page, errors = watched_page(browser, viewport={"width": 1500, "height": 1000})
    page.goto(url + "?layout=table")
    page.wait_for_selector("#grid tbody tr")
    page.select_option("#run", run)
    return browser, page, errors


def _commit(page, message: str, revision: str) -> None:
    """Commit the staged edits; the status says the new revision (or why the commit failed: shown in the
    assertion), and the page moves to it before the test acts again, as a user waits for it."""
    page.fill("#message", message)
    page.click("#commit")
    _wait_text(page, "#status", f"t.startsWith('committed {revision}') || t.startsWith('commit failed')")
    assert page.text_content("#status").startswith(f"committed {revision}"), page.text_content("#status")
    page.wait_for_function(f"() => document.querySelector('#revision').value === '{revision.split('@')[1]}'")


def test_map_selection_edits_and_suggestions_in_the_browser(dashboard):
    from playwright.sync_api import sync_playwright

    url, ws, shots = dashboard
    run = ws.runs.resolve("last")
    status, points = _get(f"{url}api/map?table=nexar/clips@1&run={run}&colour=label")
    cut, inside = _box_left_of_a_gap(points)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page, errors = watched_page(browser, viewport={"width": 1500, "height": 1000})
        page.goto(url + "?layout=table")
        page.wait_for_function("() => document.querySelector('#map-canvas').dataset.points > 0")
        drawn = int(page.get_attribute("#map-canvas", "data-points"))
        assert page.get_attribute("#grid th:has(button:text-is('aum'))", "title") == COLUMN_HELP["aum"]  # on hover
        assert_accessible(page, "samples (table)")
        assert drawn == len(points["ids"]) == sum(ws.runs.collection(run, t).num_rows for t in ("clips@1", "test@1"))
        assert points["ids"][points["editable"]:]  # the test clips share the map
        # the page refuses blob: workers, which the map library uses from a million points unless told not to
        before = len(errors)
        worker = page.evaluate("""() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation", () => resolve("refused"));
            try {
              const worker = new Worker(URL.createObjectURL(new Blob(["postMessage('ran')"])));
              worker.onmessage = () => resolve("ran");
              worker.onerror = () => resolve("refused");
            } catch (e) { resolve("refused"); }
            setTimeout(() => resolve("no answer"), 5000);
        })""")
        assert worker == "refused" and all("worker" in e for e in errors[before:])
        del errors[before:]  # the probe's own refusal, reported on the console
        # while the camera moves, a map of more points than `movingSample` draws an even sample; all once it rests
        thinned = page.evaluate("""async () => {
            const map = window.curateMap, plot = map.plot, frame = () => new Promise((r) => requestAnimationFrame(r));
            const defaults = { movingSample: map.movingSample, restMs: map.restMs };
            Object.assign(map, { movingSample: 10, restMs: 400 });
            let moves = 0;
            while (!plot.get("isPointsFiltered") && moves < 200) {
              plot.set({ cameraDistance: 1 + ++moves / 100 });
              await frame();
            }
            const moving = plot.get("filteredPoints").length;
            for (let k = 0; k < 600 && plot.get("isPointsFiltered"); k++) await frame();
            const rested = plot.get("filteredPoints").length;
            Object.assign(map, defaults);
            plot.reset();
            return [moving, rested];
        }""")
        assert thinned == [10, drawn]

        page.select_option("#colour", "aum")
        _wait_text(page, "#map-legend", "t.startsWith('aum')")

        box = page.locator("#map-canvas").bounding_box()
        page.select_option("#drag", "box")
        screen_x = screen_x_of_cut(page, points, cut)
        page.mouse.move(box["x"] + 3, box["y"] + 3)
        page.mouse.down()
        for k in range(11):  # the box starts at the first move: make it a step from the corner
            page.mouse.move(box["x"] + 3 + (screen_x - box["x"] - 3) * k / 10,
                            box["y"] + 3 + (box["height"] - 6) * k / 10)
        page.mouse.up()
        _wait_text(page, "#selection-count", f"t.startsWith('{len(inside)} clip(s)')")
        _wait_text(page, "#count", f"t.endsWith('of {len(inside)}')")
        shown = page.eval_on_selector_all("#grid tbody tr", "rows => rows.map(r => r.dataset.id)")
        assert shown == sorted(inside)[:100]  # the grid pages through exactly the boxed clips
        page.screenshot(path=str(shots / "samples-map.png"))

        page.click("#delete")
        assert page.text_content("#pending li") == f"delete on {len(inside)} clip(s)"
        _commit(page, "boxed on the map", "nexar/clips@2")
        head = ws.tables.head("nexar", "clips")
        assert head.number == 2 and head.message == "boxed on the map"
        assert not set(inside) & set(ws.tables.read(head, ["clip_id"])["clip_id"].to_pylist())
        assert set(inside) <= set(ws.tables.read(ws.resolve("clips@1"), ["clip_id"])["clip_id"].to_pylist())

        page.select_option("#grid-view", "videos")  # a video-level weight reaches every clip of the video
        _wait_text(page, "#grid thead", "t.includes('clips')")
        # a video no suggestion names: accepting one below is then a change whatever the map's box deleted
        suggested = {s.id: s for s in suggest(ws, run)}
        listed = page.eval_on_selector_all("#grid tbody tr", "rows => rows.map(r => r.dataset.id)")
        row = next(k for k, v in enumerate(listed, 1) if v not in suggested)
        video = listed[row - 1]
        page.check(f"#grid tbody tr:nth-child({row}) input[type=checkbox]")
        page.fill("#edit-value", "0")
        page.click("#weight")
        assert page.text_content("#pending li") == "weight 0 on 1 video(s)"
        _commit(page, "video weighted 0", "nexar/clips@3")
        weights = ws.tables.read(ws.resolve("clips@3")).filter(pc.field("video_id") == video)["weight"].to_pylist()
        assert weights and set(weights) == {0.0}
        page.select_option("#grid-view", "clips")

        page.click("#tab-suggestions")
        page.wait_for_selector(".suggestion")
        head_videos = set(ws.tables.read(ws.resolve("clips@3"), ["video_id"])["video_id"].to_pylist())
        cards = page.eval_on_selector_all(".suggestion", "cards => cards.map(c => c.dataset.id)")
        accepted = next(v for v in cards if v in head_videos)
        # each card leads with what its signal saw, in the library's plain words; the signal explained on hover
        listed = _get(f"{url}api/suggestions?run={run}")[1]["suggestions"]
        plain = dict(page.eval_on_selector_all(".suggestion", "cs => cs.map(c => [c.dataset.id, "
                                                              "c.querySelector('.plain').textContent])"))
        assert plain == {s["id"]: s["plain"] for s in listed} and all(plain.values())
        headings = page.eval_on_selector_all("#suggestions .group h3", "hs => hs.map(h => [h.firstChild.textContent, "
                                                                      "h.title])")
        assert {h.split(" (")[0]: title for h, title in headings} == {s["signal"]: SIGNAL_HELP[s["signal"]]
                                                                      for s in listed}
        card = f".suggestion[data-id='{accepted}']"
        page.click(f"{card} .plain")  # the current card, shown in the clip pane; the key a accepts it
        assert "current" in page.get_attribute(card, "class").split()
        page.keyboard.press("a")
        assert "accepted" in page.get_attribute(card, "class").split()
        assert "(suggestion:" in page.text_content("#pending li")
        page.screenshot(path=str(shots / "suggestions.png"), full_page=True)
        assert_accessible(page, "suggestions")
        page.click("#commit-accepted")  # no message typed: the page says what was staged
        _wait_text(page, "#status", "t.startsWith('committed nexar/clips@4') || t.startsWith('commit failed')")
        proposal = suggested[accepted]
        value = f" {proposal.value}" if proposal.action != "delete" else ""
        assert ws.tables.head("nexar", "clips").message == \
            f"{proposal.signal}: {proposal.action}{value} on 1 video (accepted suggestions)"
        page.wait_for_function("() => document.querySelector('#revision').value === '4'")
        after = ws.tables.read(ws.resolve("clips@4")).filter(pc.field("video_id") == accepted)["weight"].to_pylist()
        proposal = suggested[accepted]  # what the card proposed is what the revision did
        assert not after if proposal.action == "delete" else set(after) == {float(proposal.value)}

        page.click("#tab-samples")
        page.wait_for_selector("#grid tbody tr")
        page.click("#grid tbody tr:nth-child(1) td:nth-child(3)")  # the clip viewer shows its cached frames
        page.wait_for_function("() => document.querySelectorAll('#strip img').length > 0 && [...document"
                               ".querySelectorAll('#strip img')].every(i => i.complete && i.naturalWidth > 0)")
        page.wait_for_selector("#timeline svg")
        clip = page.get_attribute("#grid tbody tr:nth-child(1)", "data-id")
        said = _get(f"{url}api/clip?" + urllib.parse.urlencode({"table": "nexar/clips@4", "id": clip, "run": run}))[1]
        assert said["plain"] and page.text_content("#clip-plain") == said["plain"]  # what the model made of it
        page.screenshot(path=str(shots / "clip-viewer.png"))
        assert_accessible(page, "clip viewer")

        page.click("#tab-revisions")
        page.wait_for_selector("#log tbody tr")
        page.click("#diff-button")
        _wait_text(page, "#diff", "t.includes('→')")
        page.screenshot(path=str(shots / "revisions.png"), full_page=True)
        assert_accessible(page, "revisions")
        page.click("#tab-runs")
        page.wait_for_selector(".run-card svg")
        page.screenshot(path=str(shots / "runs.png"), full_page=True)
        assert_accessible(page, "runs")

        page.click("#tab-samples")  # a page on an old revision: its change of an id gone at the head conflicts
        page.select_option("#revision", "1")
        _wait_text(page, "#count", "t.includes('of')")
        page.click("#clear-selection")
        page.check(f"#grid tbody tr[data-id='{sorted(inside)[0]}'] input[type=checkbox]")
        page.click("#delete")
        page.fill("#message", "stale")
        # each refusal's response awaited, not only what the page shows of it: on a busy machine the page can show
        # it before the response listener has logged it
        with page.expect_response(lambda r: "/api/edits" in r.url and r.status == 409):
            page.click("#commit")
        page.wait_for_selector("#conflict:not([hidden])")
        assert ws.tables.head("nexar", "clips").number == 4

        page.fill("#where", "__import__('os').system('touch /tmp/pwned')")
        with page.expect_response(lambda r: "/api/samples" in r.url and r.status == 400):
            page.click("#filter-form button[type=submit]")
        page.wait_for_selector("#status.error")
        assert not Path("/tmp/pwned").exists()
        # the two refusals the page showed (the stale commit, the hostile filter), as the browser logs them: no other
        refusals = [e for e in errors if e.startswith(("409 from", "400 from")) or "status of 409" in e
                    or "status of 400" in e]
        assert errors == refusals and {e.split("?")[0] for e in refusals if " from " in e} == \
            {f"409 from {url}api/edits", f"400 from {url}api/samples"}
        browser.close()
    assert _get(f"{url}api/tables", host="evil.example")[0] == 421


def _stage_weight(page, ids: list[str], value: str) -> None:
    page.click("#clear-selection")
    for clip in ids:
        page.check(f"#grid tbody tr[data-id='{clip}'] input[type=checkbox]")
    page.fill("#edit-value", value)
    page.click("#weight")


def _open(browser, url: str):
    """A page in its own browser context (another tab of another user), on the head, with its grid loaded."""
    page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
    page.goto(url + "?layout=table")
    page.wait_for_selector("#grid tbody tr")
    return page


def test_a_stale_commit_shows_what_changed_meanwhile_and_overwrites_only_what_is_confirmed(dashboard):
    """Two users on one revision: the second to commit sees the rows the first changed, listed against the new
    head, and "apply on the head" keeps the first user's value on every row left unticked."""
    from playwright.sync_api import sync_playwright

    url, ws, shots = dashboard
    weight = lambda rev, clip: ws.tables.read(ws.resolve(f"clips@{rev}")).filter(  # noqa: E731
        pc.field("clip_id") == clip)["weight"][0].as_py()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        first, second = _open(browser, url), _open(browser, url)
        x, y = second.eval_on_selector_all("#grid tbody tr", "rows => rows.map(r => r.dataset.id)")[:2]
        _stage_weight(second, [x, y], "0.7")  # staged on clips@1 ...
        _stage_weight(first, [x], "0.3")
        _commit(first, "first user", "nexar/clips@2")  # ... while the first user commits x
        second.fill("#message", "second user")
        second.click("#commit")
        second.wait_for_selector("#conflict:not([hidden])")
        assert "nexar/clips@2 is now the head" in second.text_content("#conflict-text")
        assert second.eval_on_selector_all("#conflict-rows li", "rows => rows.map(r => r.textContent.trim())") == \
            [f"{x} ({x.split(':')[0]}): weight 1 → 0.3 at the head"]  # the clip, its video, both values
        assert second.text_content("#pending li.changed").endswith("— 1 changed meanwhile")
        second.screenshot(path=str(shots / "conflict.png"))
        assert ws.tables.head("nexar", "clips").number == 2  # nothing written by the refused commit
        second.click("#apply-head")  # x left unticked: only y is applied, on the head
        _wait_text(second, "#status", "t.startsWith('committed') || t.startsWith('commit failed')")
        assert second.text_content("#status").startswith("committed nexar/clips@3"), second.text_content("#status")
        assert (weight(3, x), weight(3, y)) == pytest.approx((0.3, 0.7))

        first.goto(url + "?layout=table")  # round two: this time the second user confirms the overwrite
        first.wait_for_selector("#grid tbody tr")
        second.wait_for_function("() => document.querySelector('#revision').value === '3'")
        _stage_weight(second, [y], "0.9")
        _stage_weight(first, [y], "0.2")
        _commit(first, "first user again", "nexar/clips@4")
        second.fill("#message", "second user again")
        second.click("#commit")
        second.wait_for_selector("#conflict:not([hidden])")
        second.check(f"#conflict-rows input[value='{y}']")
        second.click("#apply-head")
        _wait_text(second, "#status", "t.startsWith('committed') || t.startsWith('commit failed')")
        assert second.text_content("#status").startswith("committed nexar/clips@5"), second.text_content("#status")
        assert (weight(5, x), weight(5, y)) == pytest.approx((0.3, 0.9))
        browser.close()


def test_the_clip_viewer_draws_the_whole_video_curve_and_a_click_on_a_time_shows_that_clip(dashboard):
    from playwright.sync_api import sync_playwright

    from conftest import curate

    url, ws, shots = dashboard
    assert curate("-w", ws.root, "predict-events", "--step", "8").returncode == 0
    run = ws.runs.resolve("last")
    with sync_playwright() as p:
        browser, page, errors = _table_page(p, url, run)
        page.click("#grid tbody tr:nth-child(1) td:nth-child(3)")
        page.wait_for_function("() => document.querySelectorAll('#timeline svg polyline').length === 3")
        title = page.text_content("#clip-title")
        clip_id = title.split(" · ")[0]
        video = ws.tables.read(ws.resolve("clips@1")).to_pandas().set_index("clip_id").loc[clip_id, "video_id"]
        api = _get(f"{url}api/clip?table=nexar/clips@1&run={run}&id={urllib.parse.quote(clip_id)}")[1]
        assert api["events"]["curve"] and "predicted events" in page.text_content("#timeline .caption")
        chart = page.locator("#timeline svg").bounding_box()
        siblings = sorted(api["timeline"], key=lambda c: c["t"])
        target = siblings[-1] if siblings[0]["id"] == clip_id else siblings[0]  # the far end from this clip
        x0, x1 = float(page.get_attribute("#timeline svg", "data-x0")), float(page.get_attribute("#timeline svg",
                                                                                               "data-x1"))
        x = chart["x"] + 30 + (target["t"] - x0) / (x1 - x0) * (chart["width"] - 40)
        page.mouse.click(x, chart["y"] + chart["height"] / 2)
        _wait_text(page, "#clip-title", f"t.startsWith({target['id']!r} + ' · video {video}')")
        page.screenshot(path=str(shots / "clip-viewer-events.png"))
        browser.close()
    assert errors == []


def test_a_retime_suggested_on_the_timeline_is_accepted_and_committed_with_the_new_time(dashboard):
    from playwright.sync_api import sync_playwright

    from conftest import misplace_a_label, pass_the_learning_check
    from curation.events.predict import predict_events
    from curation.review.suggest import learned_timing_issues

    url, ws, shots = dashboard
    run = ws.runs.resolve("last")
    predict_events(ws, run, step_frames=8, progress=False)
    video, _ = misplace_a_label(ws, run)
    pass_the_learning_check(ws, run)
    proposed = float(next(s for s in learned_timing_issues(ws, run, []) if s.id == video).value)
    with sync_playwright() as p:
        browser, page, errors = _table_page(p, url, run)
        page.fill("#where", f"video_id == {json.dumps(video)}")
        page.click("#filter-form button[type=submit]")
        _wait_text(page, "#grid tbody tr:nth-child(1) td:nth-child(3)", f"t.includes({video!r})")
        page.click("#grid tbody tr:nth-child(1) td:nth-child(3)")
        page.wait_for_selector("#accept-retime")
        proposal = page.text_content("#timeline .retime")
        assert f"video {video}" in proposal and "label pattern" in proposal
        assert page.locator("#timeline svg text", has_text="suggested").count() == 1
        page.click("#accept-retime")
        assert "retime" in page.text_content("#pending") and "1 edit(s) staged" in page.text_content("#pending-count")
        page.screenshot(path=str(shots / "clip-viewer-retime.png"))
        page.fill("#message", "move the event where the curve peaks")
        page.click("#commit")
        _wait_text(page, "#status", "t.startsWith('committed') || t.startsWith('commit failed')")
        assert "1 labelled time(s) moved" in page.text_content("#status"), page.text_content("#status")
        browser.close()
    assert errors == []
    after = next(v for v in ws.tables.read(ws.tables.head("nexar", "videos")).to_pylist() if v["video_id"] == video)
    assert after["time_of_event"] == pytest.approx(proposed, abs=1e-3)  # the new revision has the new time
    assert ws.tables.revisions("nexar", "videos")[-1].message == "move the event where the curve peaks"


def test_the_compare_view_shows_what_curate_compare_prints_and_opens_a_video_in_the_viewer(dashboard):
    from playwright.sync_api import sync_playwright

    from conftest import curate
    from curation.review.compare import compare

    url, ws, shots = dashboard
    first = ws.runs.resolve("last")
    assert curate("-w", ws.root, "edit", "clips", "--where", "label == 1 and split == 'train'", "--weight", "0.5",
                  "-m", "half weight on positives").returncode == 0
    trained = curate("-w", ws.root, "train", "--model", "mvit_tiny", "--weights", "none", "--epochs", "1", "--workers",
                     "0", "--batch-size", "4", "--draws", "16")
    assert trained.returncode == 0, trained.stderr
    second = ws.runs.resolve("last")
    expected = compare(ws, [first, second])  # the library's answer, as the command prints it (one seed: inconclusive)
    d = expected["differences"][0]
    sign = lambda x: f"{'+' if x >= 0 else ''}{x:.4f}"  # noqa: E731
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page, errors = watched_page(browser, viewport={"width": 1500, "height": 1000})
        page.goto(url)
        page.click("#tab-runs")
        page.wait_for_selector(f"#runs-list input[value='{second}']:checked")
        page.click("#compare-button")
        page.wait_for_selector("#compare-result h3.difference")
        assert_accessible(page, "compare")
        shown = page.text_content("#compare-result h3.difference")
        assert shown.startswith(f"{d['b']} − {d['a']}: {sign(d['difference'])} [{sign(d['interval'][0])}, "
                                f"{sign(d['interval'][1])}]") and "inconclusive" in shown
        rows = page.eval_on_selector_all("#compare-groups tr", "rows => rows.slice(1).map((r) => r.textContent)")
        assert len(rows) == 2 and f"{expected['groups'][0]['value']:.4f}" in rows[0]
        video, change = d["per_video"][0]  # the most worsened video: a click shows it in the viewer
        page.click(f"#compare-result .moves button:has-text('{video} {sign(change)}')")
        page.wait_for_function(f"() => document.querySelector('#clip-title').textContent.includes('video {video}')")
        page.screenshot(path=str(shots / "compare.png"))
        assert page.get_attribute("#status", "class") != "error", page.text_content("#status")  # the map, left
        page.click("#tab-samples")  # while loading, is drawn when its view shows again
        page.wait_for_function("() => document.querySelector('#map-canvas').dataset.points > 0")
        browser.close()
    assert errors == []
