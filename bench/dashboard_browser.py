"""Dashboard times measured in the browser (Debian's Chromium driven by Playwright, software WebGL on this
machine's CPU) against `curate dashboard` serving a 100,000-clip table with a run's 2-D map, and a small
ingested dataset for the clip viewer.

- map first paint: from navigation to the map drawn (regl-scatterplot's draw resolved), the page's own JSON
  included; baseline: the same points drawn by Canvas 2D in the same page.
- pan/zoom: frames per second while the camera moves every animation frame for 3 s (redraws counted by the
  library's `draw` event); baseline: Canvas 2D redrawing the 100,000 points at every frame.
- a 10,000-point lasso shown in the grid: from the lasso's selection to the grid showing its page of the
  selection (the selection goes to the server as ids); baseline: the server's answer to that request alone.
- clip viewer: from a click on a row to every frame of the clip decoded on screen; baseline: fetching the same
  frames with fetch() alone.
- thumbnails, on a table of `--tiles` rows (1,000,000) whose clips reuse the small dataset's cached frames:
  first paint (navigation → every tile in view showing its decoded frame; a page is 100 tiles) and the numbers
  table's first paint (navigation → its page of 100 rows drawn) as the baseline; scrolling one tile row per
  animation frame for 3 s (frames/s, and the same for the numbers table); hover → the clip's next frame decoded
  in the tile, against fetch() of that frame alone.

Targets (issue 13): first paint < 2 s, pan/zoom >= 30 frames/s, lasso in the grid < 500 ms, frames < 200 ms;
(issue 27): thumbnails first paint < 1 s, scrolling a 1,000,000-row table >= 30 frames/s, hover-play < 150 ms.

    uv run python bench/dashboard_browser.py [--points 100000] [--lasso 10000] [--tiles 1000000]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pyarrow as pa
from revisions import SPEC, clips_table

from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.layouts import read_nexar
from curation.runs.record import RunInputs, RunRecord
from curation.synth import generate
from curation.workspace import Workspace

CHROMIUM = "/usr/bin/chromium"

CANVAS2D_FPS = """async ([seconds]) => {  // baseline: a plain Canvas 2D scatter of the same points
  const d = window.curateMap.data, c = document.createElement('canvas');
  c.width = c.height = 520; document.body.appendChild(c);
  const g = c.getContext('2d'); let frames = 0; const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await new Promise((r) => requestAnimationFrame(r));
    const s = 1 + 0.5 * Math.sin(frames / 10), dx = 40 * Math.cos(frames / 15);
    g.clearRect(0, 0, 520, 520); g.fillStyle = '#1f77b4';
    for (let i = 0; i < d.x.length; i++) g.fillRect(260 + dx + d.x[i] * 260 * s, 260 - d.y[i] * 260 * s, 3, 3);
    frames++;
  }
  c.remove(); return frames / ((performance.now() - t0) / 1000);
}"""

WEBGL_FPS = """async ([seconds]) => {  // the map: move the camera every animation frame, count the library's redraws
  const plot = window.curateMap.plot; let draws = 0, frames = 0;
  const sub = plot.subscribe('draw', () => { draws++; });
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    plot.set({ cameraDistance: 1 + 0.5 * Math.sin(frames / 10), cameraTarget: [0.15 * Math.cos(frames / 15), 0] });
    await new Promise((r) => requestAnimationFrame(r));
    frames++;
  }
  const elapsed = (performance.now() - t0) / 1000; plot.unsubscribe(sub); plot.reset();
  return [draws / elapsed, frames / elapsed];
}"""

LASSO_TO_GRID = """async ([polygon, expected]) => {
  const count = document.querySelector('#count'), t0 = performance.now();
  const shown = new Promise((resolve) => {
    const seen = new MutationObserver(() => { if (count.textContent.endsWith(`of ${expected}`)) { seen.disconnect();
      requestAnimationFrame(() => resolve(performance.now() - t0)); } });
    seen.observe(count, { childList: true, characterData: true, subtree: true });
  });
  window.curateMap.plot.lassoSelect(polygon, { isGl: true });
  return await shown;
}"""

CLICK_TO_FRAMES = """async ([k]) => {
  const t0 = performance.now();
  document.querySelector(`#grid tbody tr:nth-child(${k}) td:nth-child(3)`).click();
  const ready = () => { const imgs = [...document.querySelectorAll('#strip img')];
    return imgs.length && imgs.every((i) => i.complete && i.naturalWidth > 0) && document.querySelector('#clip-title')
      .textContent.startsWith(document.querySelector(`#grid tbody tr:nth-child(${k})`).dataset.id); };
  while (!ready()) await new Promise((r) => setTimeout(r, 2));
  return performance.now() - t0;
}"""

# Installed before the page loads: the first moment every tile in view (or the table's page) is drawn.
PAINTED = """(() => {
  const drawn = () => {
    const tiles = [...document.querySelectorAll('#tiles .tile')];
    if (!document.querySelector('#tiles')?.hidden) {
      return tiles.length > 0 && tiles.every((t) => { const i = t.querySelector('img');
        return i && i.complete && i.naturalWidth > 0; });
    }
    return document.querySelectorAll('#grid tbody tr').length >= 100;
  };
  const poll = () => { if (drawn()) window.__painted = performance.now(); else requestAnimationFrame(poll); };
  requestAnimationFrame(poll);
})()"""

SCROLL_FPS = """async ([selector, seconds, step]) => {  // one step down per animation frame
  const box = document.querySelector(selector); let frames = 0; const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    box.scrollTop += step; await new Promise((r) => requestAnimationFrame(r)); frames++;
  }
  return [frames / ((performance.now() - t0) / 1000), box.scrollTop];
}"""

HOVER_PLAY = """async ([k]) => {  // hover → the tile shows the clip's next frame, decoded
  const tile = document.querySelectorAll('#tiles .tile')[k], img = tile.querySelector('img'), still = img.src;
  const t0 = performance.now();
  tile.dispatchEvent(new MouseEvent('mouseenter'));
  while (!(img.src !== still && img.complete && img.naturalWidth > 0)) await new Promise((r) => setTimeout(r, 1));
  const shown = performance.now() - t0, url = img.src;
  tile.dispatchEvent(new MouseEvent('mouseleave'));
  const t1 = performance.now();
  await (await fetch(url, { cache: 'reload' })).blob();
  return [shown, performance.now() - t1];
}"""

FETCH_FRAMES = """async ([urls]) => {
  const t0 = performance.now();
  await Promise.all(urls.map((u) => fetch(u, { cache: 'reload' }).then((r) => r.blob())));
  return performance.now() - t0;
}"""


def bench_run(ws: Workspace, points: int) -> str:
    """A run over the bench table with a collection that places every clip on a 2-D map (24 clusters)."""
    rng = np.random.default_rng(0)
    table = ws.tables.read(ws.resolve("bench/clips"), ["clip_id", "label"])
    centres = rng.normal(0, 10, (24, 2))
    xy = centres[rng.integers(0, 24, points)] + rng.normal(0, 1.2, (points, 2))
    prob = rng.uniform(0, 1, points)
    ids, labels = table["clip_id"], table["label"].to_numpy()
    run = ws.runs.create("bench")
    loss = -np.log(np.where(labels == 1, prob, 1 - prob))
    ws.runs.write_dynamics(run, 1, pa.table({"clip_id": ids, "epoch": pa.array(np.ones(points, np.int32)),
                                             "loss": loss, "prob": prob, "margin": np.where(labels == 1, 1, -1) * (
                                                 2 * prob - 1)}))
    ws.runs.write_collection(run, "clips@1", pa.table({"clip_id": ids, "prob": prob, "loss": loss,
                                                       "pred": pa.array((prob > 0.5).astype(np.int32)),
                                                       "map_x": xy[:, 0].astype(np.float32),
                                                       "map_y": xy[:, 1].astype(np.float32)}))
    head = ws.resolve("bench/clips")
    ws.runs.write_record(run, RunRecord(run=run, config={"model": "bench"}, status="completed",
                                        inputs=RunInputs(dataset="bench", table="clips", revision=1, ref=head.ref,
                                                         fingerprint=head.fingerprint, rows=head.rows)))
    return run


def tiles_dataset(ws: Workspace, rows: int) -> None:
    """A `tiles` dataset of `rows` clips cycling through the nexar dataset's clips, with its frame cache copied:
    thumbnails of a million rows, each a real JPEG."""
    import shutil
    from dataclasses import replace

    nexar = ws.tables.read(ws.resolve("nexar/clips"), ["video_id", "split", "fold", "end_frame", "stride", "n_frames",
                                                      "end_time_s", "label", "weight"])
    table = nexar.take(pa.array(np.arange(rows) % nexar.num_rows))
    table = table.add_column(0, "clip_id", pa.array([f"t{i:07d}" for i in range(rows)]))
    ws.tables.create(replace(SPEC, dataset="tiles"), table, message="bench tiles")
    shutil.copytree(ws.cache("nexar").root, ws.cache("tiles").root)


def measure_tiles(browser, url: str) -> dict:
    """First paint, scrolling and hover-play of the thumbnails on the tiles dataset, and the numbers table's."""
    out = {}
    for layout in ("tiles", "table"):
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.add_init_script(PAINTED)
        paints = []
        for _ in range(3):
            page.goto(f"{url}?table=tiles/clips&run=&layout={layout}")
            page.wait_for_function("window.__painted !== undefined", timeout=60_000)
            paints.append(page.evaluate("window.__painted"))
        out[f"{layout}_paint_ms"] = statistics.median(paints)
        selector = "#tiles" if layout == "tiles" else ".grid-wrap"
        out[f"{layout}_fps"], out[f"{layout}_scrolled_px"] = page.evaluate(SCROLL_FPS, [selector, 3, 150])
        if layout == "tiles":
            out["tiles_total"] = page.text_content("#count")
            page.evaluate("document.querySelector('#tiles').scrollTop = 0")
            page.wait_for_function("document.querySelectorAll('#tiles .tile img').length >= 10")
            page.wait_for_timeout(500)
            cdp = page.context.new_cdp_session(page)
            hovers = []
            for k in range(10):  # the browser's cache emptied first: the frames come from the server
                cdp.send("Network.clearBrowserCache")
                hovers.append(page.evaluate(HOVER_PLAY, [k]))
            out["hover_ms"] = statistics.median(h[0] for h in hovers)
            out["hover_max_ms"] = max(h[0] for h in hovers)
            out["hover_fetch_ms"] = statistics.median(h[1] for h in hovers)
        page.close()
    return out


def serve(ws_root: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "curation.cli", "dashboard", "-w", str(ws_root), "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tables", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the dashboard did not start")


def lasso_polygon(points: dict, n: int) -> tuple[list[list[float]], int]:
    """A box over the `n` leftmost points (in the page's [-1, 1] coordinates)."""
    x = np.sort(np.array(points["x"]))
    cut = (x[n - 1] + x[n]) / 2
    inside = int((np.array(points["x"]) < cut).sum())
    return [[-1.0, -1.0], [cut, -1.0], [cut, 1.0], [-1.0, 1.0]], inside


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--lasso", type=int, default=10_000)
    ap.add_argument("--port", type=int, default=5077)
    ap.add_argument("--tiles", type=int, default=1_000_000, help="rows of the thumbnails' table")
    ap.add_argument("--chromium-arg", action="append", default=[], help="Extra Chromium flags, e.g. GL backends.")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="curate-bench-browser-"))
    ws = Workspace.open(root / "ws", backend="lance")
    generate(root / "data", n_train=8, n_test=2, width=320, height=180, duration_s=4.0, test_duration_s=3.0,
             progress=False)
    ingest(ws, read_nexar(root / "data"), "nexar", IngestOptions(), progress=False)  # frames at the default size
    ws.tables.create(SPEC, clips_table(args.points), message="bench")
    run = bench_run(ws, args.points)
    tiles_dataset(ws, args.tiles)
    url = f"http://127.0.0.1:{args.port}/"
    server = serve(root / "ws", args.port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", *args.chromium_arg])
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            paints = []
            for _ in range(3):
                page.goto(f"{url}?table=bench/clips&run={run}&layout=table")
                page.wait_for_function("document.querySelector('#map-canvas').dataset.points > 0", timeout=60_000)
                paints.append(page.evaluate("window.curateMap.drawnAt"))
            drawn = int(page.get_attribute("#map-canvas", "data-points"))
            page.evaluate("window.curateMap.plot.set({ pointColor: window.curateMap.plot.get('pointColor') })")
            draws_per_s, frames_per_s = page.evaluate(WEBGL_FPS, [3])
            canvas2d_fps = page.evaluate(CANVAS2D_FPS, [3])
            points = json.loads(urllib.request.urlopen(f"{url}api/map?table=bench/clips&run={run}").read())
            polygon, inside = lasso_polygon(points, args.lasso)
            lasso_ms = [page.evaluate(LASSO_TO_GRID, [polygon, inside]) for _ in range(1)]
            token = page.get_attribute('meta[name="curate-token"]', "content")
            ids = [i for i, x in zip(points["ids"], points["x"]) if x < polygon[1][0]]
            server_ms = []
            for _ in range(3):
                body = json.dumps({"table": "bench/clips@1", "run": run, "ids": ids, "offset": 0, "limit": 100,
                                   "view": "clips"}).encode()
                request = urllib.request.Request(f"{url}api/samples", data=body, method="POST", headers={
                    "content-type": "application/json", "x-curate-token": token})
                start = time.perf_counter()
                urllib.request.urlopen(request).read()
                server_ms.append(1000 * (time.perf_counter() - start))

            page.goto(f"{url}?table=nexar/clips&run=&layout=table")
            page.wait_for_selector("#grid tbody tr")
            viewer_ms, fetch_ms = [], []
            videos = page.eval_on_selector_all("#grid tbody tr", "rows => rows.map(r => r.children[2].textContent)")
            first_of_video = [k + 1 for k, v in enumerate(videos) if k and v != videos[k - 1]]
            for k in first_of_video:  # one clip per video: no frame of it was fetched before (none cached)
                viewer_ms.append(page.evaluate(CLICK_TO_FRAMES, [k]))
                urls = page.eval_on_selector_all("#strip img", "imgs => imgs.map(i => i.src)")
                fetch_ms.append(page.evaluate(FETCH_FRAMES, [urls]))
            tiles = measure_tiles(browser, url)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)

    paint = statistics.median(paints)
    print(f"map of {drawn:,} points (Chromium {CHROMIUM}, software WebGL, 2 cores)")
    print(f"first paint (navigation → map drawn)   {paint:7.0f} ms  (median of 3; goal < 2000 ms)")
    print(f"pan/zoom, camera moved every frame     {draws_per_s:7.1f} redraws/s, {frames_per_s:.1f} frames/s "
          f"(goal >= 30)")
    print(f"  Canvas 2D baseline, same points      {canvas2d_fps:7.1f} frames/s  → WebGL map "
          f"{draws_per_s / canvas2d_fps:.1f}x")
    print(f"lasso of {inside:,} points → grid shows it {lasso_ms[0]:5.0f} ms  (goal < 500 ms)")
    print(f"  server alone (POST of the ids)       {statistics.median(server_ms):7.0f} ms  "
          f"({statistics.median(server_ms) / lasso_ms[0]:.0%} of it)")
    print(f"clip viewer: click → 16 frames shown   {statistics.median(viewer_ms):7.0f} ms  "
          f"(median of {len(viewer_ms)} clips of different videos; max {max(viewer_ms):.0f}; goal < 200 ms)")
    print(f"  fetch() of the same frames alone     {statistics.median(fetch_ms):7.0f} ms")
    print(f"thumbnails of {tiles['tiles_total']} (a page is 100 tiles)")
    print(f"first paint (navigation → tiles in view decoded) {tiles['tiles_paint_ms']:6.0f} ms  (median of 3; "
          f"goal < 1000 ms)")
    print(f"  numbers table, its page of 100 rows            {tiles['table_paint_ms']:6.0f} ms  → "
          f"{tiles['tiles_paint_ms'] / tiles['table_paint_ms']:.1f}x")
    print(f"scroll, a tile row (150 px) per frame for 3 s    {tiles['tiles_fps']:6.1f} frames/s (goal >= 30; "
          f"{tiles['tiles_scrolled_px']:,.0f} px)")
    print(f"  numbers table, 150 px per frame                {tiles['table_fps']:6.1f} frames/s  → "
          f"{tiles['tiles_fps'] / tiles['table_fps']:.2f}x")
    print(f"hover → the clip's next frame shown             {tiles['hover_ms']:6.0f} ms  (median of 10, cache empty; max "
          f"{tiles['hover_max_ms']:.0f}; goal < 150 ms)")
    print(f"  fetch() of that frame alone                    {tiles['hover_fetch_ms']:6.0f} ms")


if __name__ == "__main__":
    main()
