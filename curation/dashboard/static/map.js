// The embedding map: the run's 2-D map of every clip of the revision, drawn by regl-scatterplot (WebGL), coloured
// by any column (a label, prediction, metric, suggestion signal…) and sized by any numeric one. Lasso or box
// selection is the page's selection.
import createScatterplot, { createRenderer } from "/static/vendor/regl-scatterplot.esm.js";
import { $, api, cell, el, emit, on, ref, say, state } from "./core.js";

const CATEGORY_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const NONE = "#cfcfcf";

export const map = { plot: null, data: null, index: new Map(), drawnAt: 0 };  // index: id → point, made when asked
window.curateMap = map;  // for the browser tests and the benchmark

function viridis(t) {
  const at = t * (VIRIDIS.length - 1), k = Math.min(VIRIDIS.length - 2, Math.floor(at)), f = at - k;
  const rgb = VIRIDIS[k].map((v, i) => Math.round(v + (VIRIDIS[k + 1][i] - v) * f));
  return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

function palette(colour) {
  if (colour.kind === "categorical") {
    return colour.categories.map((c, k) => (c === "none" ? NONE : CATEGORY_COLOURS[k % CATEGORY_COLOURS.length]));
  }
  return [...Array(colour.bins).keys()].map((k) => viridis(k / (colour.bins - 1))).concat([NONE]);
}

function legend(colour) {
  if (colour.kind === "categorical") {
    const colours = palette(colour);
    return colour.categories.map((c, k) => el("span", { className: "key" },
      el("i", { style: `background:${colours[k]}` }), ` ${c}`));
  }
  const bar = el("span", { className: "bar", style: `background:linear-gradient(to right, ${
    [0, 0.25, 0.5, 0.75, 1].map(viridis).join(",")})` });
  return [el("span", {}, `${colour.by}: ${cell(colour.range[0])} `), bar, el("span", {}, ` ${cell(colour.range[1])}`),
          el("span", { className: "key" }, el("i", { style: `background:${NONE}` }), " no value")];
}

// Large maps are drawn as small unblended squares (the library's performance mode, fixed at creation): on a
// machine without a GPU, fragments are what costs.
const LARGE = 20000;
// While the camera moves, a map of more than `map.movingSample` points draws an even sample of that many (every
// k-th point), and every point again once the camera has rested `map.restMs`: without a GPU a million points
// redraw about twice a second, thirty thousand about forty times (bench/README.md, issue 42).
Object.assign(map, { movingSample: 30000, restMs: 200 });

function thinWhileMoving(plot) {
  let resting = null, sample = [], sampledFrom = "";
  plot.subscribe("view", () => {  // published after the frame that moved the camera
    const count = map.data?.count ?? 0, size = map.movingSample;
    if (count <= size) return;
    if (!resting) {
      if (sampledFrom !== `${count}/${size}`) {
        sample = Array.from({ length: size }, (_, k) => Math.floor((k * count) / size));
        sampledFrom = `${count}/${size}`;
      }
      plot.filter(sample, { preventEvent: true });
    }
    clearTimeout(resting);
    resting = setTimeout(async () => {
      await plot.unfilter({ preventEvent: true });
      resting = null;
      highlight();  // the filter kept only the sample's part of the selection
    }, map.restMs);
  });
}

// The map's size: its box's (the library fixes its canvas's size in pixels when it is made).
function boxSize() {
  const box = $("map-box");
  return { width: box.clientWidth, height: box.clientHeight };
}

function ensurePlot(points = 0) {
  const large = points >= LARGE;
  const canvas = $("map-canvas");
  const { width, height } = boxSize();
  const size = `${width}x${height}`;
  if (map.plot && map.large === large && map.size === size) return map.plot;
  map.plot?.destroy();
  if (map.size !== size) { map.renderer?.destroy(); map.renderer = null; }
  Object.assign(map, { large, size });
  // The library renders into a WebGL canvas of the whole window by default, then copies the map's part: one
  // of the map's own size renders (and, without a GPU, reads back) only the pixels shown.
  map.renderer ||= createRenderer({ canvas: Object.assign(document.createElement("canvas"), {
    width: width * devicePixelRatio, height: height * devicePixelRatio }) });
  // spatialIndexUseWorker false: from a million points the library builds its lasso index in a worker made from a
  // blob: URL, which the page's content security policy refuses, and the map then never drew.
  map.plot = createScatterplot({ renderer: map.renderer, canvas, width, height, pointSize: large ? 1 : 4, pointSizeSelected: 2,
                                 opacity: 0.85, performanceMode: large, lassoMinDelay: 0, lassoInitiator: false,
                                 showReticle: false, pointOutlineWidth: 1, lassoColor: [0.1, 0.3, 0.8, 1],
                                 spatialIndexUseWorker: false });
  thinWhileMoving(map.plot);
  $("drag").onchange();
  map.plot.subscribe("select", async ({ points }) => {
    points = points.filter((i) => i < map.data.editable);  // context points (other tables) are not editable here
    const ids = await mapIds();
    state.selected = new Set(points.map((i) => ids[i]));
    for (const i of points) state.videoOf.set(ids[i], map.data.videos[map.data.video[i]]);
    say(`${points.length} clip(s) selected on the map`);
    emit("selection", "map");
    if (points.length === 1) emit("show-clip", { id: ids[points[0]] });
  });
  map.plot.subscribe("deselect", () => { state.selected.clear(); emit("selection", "map"); });
  map.plot.subscribe("pointOver", (i) => {
    const c = map.data.colour;
    const value = c.kind === "categorical" ? c.categories[c.codes[i]]
      : c.codes[i] === c.bins ? "no value" : `≈ ${cell(c.range[0] + (c.range[1] - c.range[0]) * c.codes[i] / (c.bins - 1))}`;
    const where = i < map.data.editable ? "" : " · not in this table (shown for context)";
    const id = map.data.ids ? map.data.ids[i] : map.data.videos[map.data.video[i]];  // the video until ids come
    $("map-hover").textContent = `${id} · ${c.by} ${value}${where}`;
    if (!map.data.ids) mapIds();
  });
  map.plot.subscribe("pointOut", () => { $("map-hover").textContent = ""; });
  return map.plot;
}

// The map comes as typed arrays behind a JSON header (review/embedding_map.py's map_binary): nothing is built per
// point here; the ids come as text only when a selection, a hover or a highlight first needs one.
async function fetchMap(params) {
  const response = await fetch(`/api/map?${params}&format=binary`);
  if (!response.ok) {
    const body = response.headers.get("content-type")?.includes("json") ? await response.json() : {};
    throw Object.assign(new Error(body.message || `${response.status} from /api/map`), { status: response.status });
  }
  const buffer = await response.arrayBuffer();
  const length = new DataView(buffer).getUint32(4, true);
  const data = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, length)));
  const types = { float32: Float32Array, uint32: Uint32Array, uint16: Uint16Array, uint8: Uint8Array };
  let at = 8 + length;
  const arrays = {};
  for (const { name, type, length: n } of data.arrays) {
    arrays[name] = new types[type](buffer, at, n);
    at += Math.ceil(arrays[name].byteLength / 4) * 4;
  }
  Object.assign(data, { x: arrays.x, y: arrays.y, video: arrays.video, ids: null, idsParams: params });
  data.colour.codes = arrays.colour;
  if (data.size) data.size.codes = arrays.size;
  return data;
}

// The map's ids, point order (fetched once per map, then kept), and each id's point.
async function mapIds() {
  const data = map.data;
  if (!data.ids) {
    data.ids = (await (await fetch(`/api/map?${data.idsParams}&format=ids`)).text()).split("\n");
    map.index = new Map();
  }
  return data.ids;
}

function pointOf(id) {
  if (!map.index.size) map.data.ids.forEach((one, i) => map.index.set(one, i));
  return map.index.get(id);
}

export async function loadMap() {
  if (!state.run) {
    $("map-pane").hidden = true;
    return;
  }
  const hidden = () => {  // a hidden canvas has no size to draw at: drawn when the samples show again
    map.pending = $("view-samples").hidden;
    return map.pending;
  };
  if (hidden()) return;
  const params = new URLSearchParams({ table: ref(), run: state.run, colour: $("colour").value });
  if ($("size").value) params.set("size", $("size").value);
  try {
    const data = await fetchMap(params);
    if (hidden()) return;  // the user switched views while it came
    $("map-pane").hidden = false;
    map.data = data;
    const plot = ensurePlot(data.count);
    const base = map.large ? 1 : 4;  // a size step is half a base point more
    plot.set({ pointColor: palette(data.colour), colorBy: "valueA", sizeBy: data.size ? "valueB" : null,
               pointSize: data.size ? [...Array(data.size.steps).keys()].map((k) => base * (1 + k / 2)) : base });
    await plot.draw({ x: data.x, y: data.y, valueA: data.colour.codes, valueB: data.size?.codes },
                    { zDataType: "categorical", wDataType: "categorical" });
    map.drawnAt = performance.now();
    $("map-canvas").dataset.points = plot.get("points").length;  // what the library drew (read by tests and bench)
    $("map-legend").replaceChildren(...legend(data.colour), ...(data.size ? [el("span", { className: "key",
      textContent: ` · size: ${data.size.by} ${cell(data.size.range[0])} … ${cell(data.size.range[1])}` })] : []));
    const context = data.count - data.editable;
    $("map-count").textContent = `${data.editable} clips of ${data.table} on the map of ${data.run}`
      + (context ? ` (+ ${context} of its other tables)` : "");
    highlight();
  } catch (error) {
    $("map-pane").hidden = error.status === 404;
    say(error.message, true);
  }
}

async function highlight() {
  if (!map.plot || !map.data) return;
  if (state.selected.size && !map.data.ids) await mapIds();
  const points = [...state.selected].map(pointOf).filter((i) => i !== undefined);
  if (points.length) map.plot.select(points, { preventEvent: true });
  else map.plot.deselect({ preventEvent: true });
}

// The samples view is shown again: a map asked for while it was hidden is drawn now.
export function mapShown() {
  if (map.pending) loadMap();
}

// Every column of the samples can colour the map, every numeric one size it (sent by the grid once known).
function addColumns({ columns, numeric }) {
  for (const [select, names] of [[$("colour"), columns], [$("size"), numeric]]) {
    const known = new Set([...select.options].map((o) => o.value));
    for (const c of names) if (!known.has(c)) select.appendChild(el("option", { value: c, textContent: c }));
  }
}

export function initMap() {
  $("colour").onchange = loadMap;
  $("size").onchange = loadMap;
  on("columns", addColumns);
  $("drag").onchange = () => {
    const mode = $("drag").value;
    map.plot?.set({ mouseMode: mode === "pan" ? "panZoom" : "lasso",
                       lassoType: mode === "box" ? "rectangle" : "freeform" });
  };
  $("map-reset").onclick = () => map.plot?.reset();
  $("map-large").onclick = () => {  // the map over most of the screen, the samples below it
    $("map-pane").classList.toggle("large");
    $("map-large").textContent = $("map-pane").classList.contains("large") ? "smaller map" : "larger map";
    loadMap();
  };
  on("selection", (source) => { if (source !== "map") highlight(); });
  let resized = null;  // the panes were resized: the map is drawn again at its new size once the drag rests
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(() => {
      const { width, height } = boxSize();
      if (map.plot && width && map.size !== `${width}x${height}`) loadMap();
    }, 200);
  });
}
