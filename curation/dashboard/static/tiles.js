// The thumbnail grid, the samples' default view: a tile per clip (or video) showing its middle frame from the
// frame cache, playing its frames while hovered, with badges (label, weight, edited, staged change, suggestion).
// Only the tiles in view exist and only their pages are fetched, so a table of a million rows scrolls like one
// of a hundred. Click selects a tile alone and shows it in the viewer, ctrl/cmd-click adds or removes it,
// shift-click adds the range from the last click; dragging a band over tiles selects them (with ctrl, cmd or
// shift: adds them).
import { $, cell, el, emit, frameUrl, on, say, state, unsay } from "./core.js";

const PAGE = 100;  // rows per request
const TILE = { w: 172, h: 150 };  // the tile's box in the layout (style.css .tile is smaller by its margin)
const PLAY_MS = 90;  // a hovered tile's frame interval
const MAX_PX = 8_000_000;  // the scrolled height at most (browsers cap an element's height near 33M px): a taller
                           // layout scrolls proportionally, a pixel of scrollbar standing for `scale` pixels
const t = { request: null, onColumns: null, view: "clips", total: 0, key: "clip_id", classes: [], pages: new Map(),
            asking: new Set(), generation: 0, shown: new Map(), cols: 1, scale: 1, anchor: null, current: -1,
            timer: null, queued: false };

export async function loadTiles(request, view, onColumns) {
  Object.assign(t, { request, view, onColumns, total: 0, generation: t.generation + 1, anchor: null, current: -1 });
  t.pages.clear();
  t.asking.clear();
  clearShown();
  $("tiles").scrollTop = 0;
  await fetchPage(0, t.generation);
}

function clearShown() {
  for (const node of t.shown.values()) node.remove();
  t.shown.clear();
}

async function fetchPage(page, generation) {
  if (t.pages.has(page) || t.asking.has(page)) return;
  t.asking.add(page);
  try {
    const answer = await t.request(page * PAGE, PAGE, { frames: "1" });
    if (generation !== t.generation) return;  // the filter or the revision changed meanwhile
    Object.assign(t, { total: answer.total, key: answer.key, classes: answer.classes || [] });
    t.pages.set(page, answer.rows.map((row, k) => ({ row, frames: answer.frames[k], edited: answer.edited?.[k] })));
    for (const row of answer.rows) if (row.video_id && row.clip_id) state.videoOf.set(row.clip_id, row.video_id);
    if (page === 0) t.onColumns?.(answer.columns, answer.rows);
    $("count").textContent = t.total ? `${t.total} ${t.view}` : "no rows";
    unsay("grid");
    draw();
  } catch (error) {
    if (generation === t.generation) say(error.message, true, "grid");
  } finally {
    t.asking.delete(page);
  }
}

const item = (index) => t.pages.get(Math.floor(index / PAGE))?.[index % PAGE];

// The tiles in view (and a row either side), placed by their row's distance from the first row in view; pages
// not fetched yet are asked for.
function draw() {
  const box = $("tiles");
  t.cols = Math.max(1, Math.floor(box.clientWidth / TILE.w));
  const height = Math.ceil(t.total / t.cols) * TILE.h;
  t.scale = Math.max(1, height / MAX_PX);
  $("tiles-spacer").style.height = `${height / t.scale}px`;
  const top = box.scrollTop * t.scale;  // where the view is in the whole layout
  const row = Math.floor(top / TILE.h);
  const shift = top - row * TILE.h;
  // the layer covers exactly the view (never below the spacer's end: nothing grows the scrolled height)
  Object.assign($("tiles-layer").style, { transform: `translateY(${box.scrollTop}px)`, height: `${box.clientHeight}px` });
  const first = Math.max(0, row - 1) * t.cols;
  const last = Math.min(t.total, (row + Math.ceil(box.clientHeight / TILE.h) + 2) * t.cols);
  for (const [index, node] of t.shown) {
    if (index < first || index >= last || (!node.dataset.id && item(index))) { node.remove(); t.shown.delete(index); }
  }
  for (let page = Math.floor(first / PAGE); last > first && page <= Math.floor((last - 1) / PAGE); page++) {
    if (!t.pages.has(page)) fetchPage(page, t.generation);
  }
  for (let index = first; index < last; index++) {
    let node = t.shown.get(index);
    if (!node) {
      node = tile(index, item(index));
      $("tiles-layer").appendChild(node);
      t.shown.set(index, node);
    }
    const y = (Math.floor(index / t.cols) - row) * TILE.h - shift;
    node.style.transform = `translate(${(index % t.cols) * TILE.w}px, ${y}px)`;
  }
}

// Scrolling redraws once per animation frame, however many scroll events arrive.
function queueDraw() {
  if (t.queued) return;
  t.queued = true;
  requestAnimationFrame(() => { t.queued = false; draw(); });
}

function tile(index, it) {
  const node = el("div", { className: "tile" });
  if (!it) { node.classList.add("loading"); return node; }
  const id = it.row[t.key];
  node.dataset.id = id;
  const still = it.frames.length ? frameUrl(state.dataset, it.frames[Math.floor(it.frames.length / 2)]) : "";
  const img = el("img", { alt: "", src: still, draggable: false });
  node.append(img, badges(it), el("div", { className: "tile-id", textContent: id }));
  mark(node, index);
  node.onmouseenter = () => play(img, it.frames);
  node.onmouseleave = () => { clearInterval(t.timer); img.src = still; };
  node.onclick = (event) => pick(index, event);
  return node;
}

function badges({ row, edited }) {
  const out = el("div", { className: "badges" });
  const add = (className, text) => out.append(el("span", { className: `badge ${className}`, textContent: text }));
  if (row.label !== undefined && row.label !== null) add(`label label-${row.label}`, t.classes[row.label] ?? String(row.label));
  if (typeof row.weight === "number" && row.weight !== 1) add("weight", `w ${cell(row.weight)}`);
  if (edited) add("edited", "edited");
  const staged = state.pending.find((p) => p.ids.includes(row[t.key]) || (p.level === "video" && p.ids.includes(row.video_id)));
  if (staged) add("staged", `staged: ${staged.action}`);
  const signal = state.suggested.get(row[t.key]) || state.suggested.get(row.video_id);
  if (signal) add("suggested", signal);
  return out;
}

// Hover: every frame of the clip in turn, the first at once (the browser keeps them for the next hover).
function play(img, frames) {
  clearInterval(t.timer);
  if (!frames.length) return;
  const urls = frames.map((f) => frameUrl(state.dataset, f));
  for (const url of urls) new Image().src = url;
  let k = 0;
  img.src = urls[0];
  t.timer = setInterval(() => { k = (k + 1) % urls.length; img.src = urls[k]; }, PLAY_MS);
}

const chosen = () => (t.view === "videos" ? state.selectedVideos : state.selected);

function pick(index, event) {
  if (t.banded) { t.banded = false; return; }  // the end of a band drawn over tiles, not a click
  const ids = chosen();
  const id = item(index).row[t.key];
  if (event.shiftKey && t.anchor !== null) {
    for (let i = Math.min(t.anchor, index); i <= Math.max(t.anchor, index); i++) if (item(i)) ids.add(item(i).row[t.key]);
  } else if (event.ctrlKey || event.metaKey) {
    if (ids.has(id)) ids.delete(id); else ids.add(id);
  } else {
    ids.clear();
    ids.add(id);
  }
  t.anchor = index;
  show(index);
  emit("selection", "tiles");
}

// The current tile: outlined, scrolled into view, shown in the viewer.
function show(index) {
  t.current = index;
  const box = $("tiles");
  const top = (Math.floor(index / t.cols) * TILE.h) / t.scale;
  if (top < box.scrollTop) box.scrollTop = top;
  else if (top + TILE.h > box.scrollTop + box.clientHeight) box.scrollTop = top + TILE.h - box.clientHeight;
  const id = item(index)?.row[t.key];
  if (id !== undefined) emit("show-clip", t.view === "videos" ? { video: id } : { id });
  refresh();
}

// j / k: the next or previous tile, selected alone.
export function moveTile(step) {
  if (!t.total) return;
  const index = Math.max(0, Math.min(t.total - 1, t.current + step));
  if (!item(index)) return;  // its page is on its way
  chosen().clear();
  chosen().add(item(index).row[t.key]);
  t.anchor = index;
  show(index);
  emit("selection", "keys");
}

function mark(node, index) {
  node.classList.toggle("selected", chosen().has(node.dataset.id));
  node.classList.toggle("current", index === t.current);
}

// The selection changed: the tiles in view are marked again, in place.
function refresh() {
  for (const [index, node] of t.shown) if (node.dataset.id) mark(node, index);
}

// Staged edits or suggestions changed: the tiles in view are drawn again with their badges.
function redraw() {
  clearShown();
  draw();
}

// A band dragged over the tiles in view selects those it touches.
function initBand() {
  let start = null, band = null;
  $("tiles").addEventListener("mousedown", (event) => {
    if (event.button === 0) start = { x: event.clientX, y: event.clientY, add: event.ctrlKey || event.metaKey || event.shiftKey };
  });
  window.addEventListener("mousemove", (event) => {
    if (!start || (!band && Math.hypot(event.clientX - start.x, event.clientY - start.y) < 6)) return;
    band ||= document.body.appendChild(el("div", { className: "band" }));
    Object.assign(band.style, { left: `${Math.min(start.x, event.clientX)}px`, top: `${Math.min(start.y, event.clientY)}px`,
                                width: `${Math.abs(event.clientX - start.x)}px`, height: `${Math.abs(event.clientY - start.y)}px` });
  });
  window.addEventListener("mouseup", () => {
    if (band) {
      const r = band.getBoundingClientRect();
      band.remove();
      band = null;
      const ids = chosen();
      if (!start.add) ids.clear();
      for (const node of t.shown.values()) {
        const n = node.getBoundingClientRect();
        if (node.dataset.id && n.left < r.right && n.right > r.left && n.top < r.bottom && n.bottom > r.top) ids.add(node.dataset.id);
      }
      t.banded = true;
      setTimeout(() => { t.banded = false; });  // a click follows only when the band ended on the tile it began on
      emit("selection", "tiles");
    }
    start = null;
  });
}

export function initTiles() {
  initBand();
  $("tiles").addEventListener("scroll", queueDraw, { passive: true });
  window.addEventListener("resize", queueDraw);
  on("selection", refresh);
  on("staged", redraw);
  on("suggested", redraw);
}
