// Shared by the page's modules: the state, the API client, a small event bus and DOM helpers.
// Data from the server is shown with textContent, never as HTML.

export const TOKEN = document.querySelector('meta[name="curate-token"]').content;
export const $ = (id) => document.getElementById(id);

export const state = {
  table: null, revision: null, head: null, run: "", dataset: null,
  selected: new Set(),        // selected clip ids (grid, map, viewer)
  selectedVideos: new Set(),  // selected video ids (the grid's video view)
  videoOf: new Map(),         // clip id → video id, from every page and map seen
  pending: [],                // staged edits: {action, value, level, ids, source}
  suggested: new Map(),       // id (clip or video) → the signal of the run's suggestion for it
  conflict: null,             // after a refused stale commit: {base, head, headNumber, changed}
};

const listeners = {};
export function on(event, fn) { (listeners[event] ||= []).push(fn); }
export function emit(event, data) { for (const fn of listeners[event] || []) fn(data); }

export async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : {};
  if (!response.ok) throw Object.assign(new Error(body.message || body.problem
                                                 || `${response.status} ${response.statusText} from ${path.split("?")[0]}`),
                                        { status: response.status, body });
  return body;
}

export function post(path, body) {
  return api(path, { method: "POST", body: JSON.stringify(body),
                     headers: { "content-type": "application/json", "x-curate-token": TOKEN } });
}

// The status line. A message stays until another replaces it; `source` marks one that only its source clears
// (a grid error goes when the grid loads again, without wiping "committed …" that arrived in between).
let shownBy = null;
export function say(text, error = false, source = null) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
  shownBy = source;
}
export function unsay(source) { if (shownBy === source) say(""); }

export function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export function option(select, value, text) {
  select.appendChild(el("option", { value, textContent: text }));
}

export function cell(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "number" && !Number.isInteger(value) ? value.toFixed(4) : String(value);
}

export const ref = () => `${state.table}@${state.revision}`;

// Each signal and column explained in a sentence (the library's words), for hover text.
export const words = { signals: {}, columns: {} };
export async function loadWords() {
  Object.assign(words, await api("/api/words"));
}
export const frameUrl = (dataset, id) => `/api/frames/${encodeURIComponent(dataset)}/${encodeURIComponent(id)}`;

// An SVG line chart: series [{name, points: [[x, y], …], colour}], with its axes' ranges written as text.
// `yRange` fixes the y axis (e.g. [0, 1] for probabilities).
// The x value under a click on a lineChart (its plot spans 30 … width − 10 pixels).
export function chartX(svg, clientX) {
  const box = svg.getBoundingClientRect();
  const [x0, x1] = [Number(svg.dataset.x0), Number(svg.dataset.x1)];
  return x0 + (clientX - box.left - 30) / (box.width - 40) * (x1 - x0);
}

export function lineChart(series, { width = 320, height = 120, xLabel = "", marks = [], yRange = null } = {}) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("class", "chart");
  const all = series.flatMap((s) => s.points).filter((p) => p[1] !== null && p[1] !== undefined);
  const xs = all.map((p) => p[0]).concat(marks.map((m) => m.x));
  if (!all.length) return svg;
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = yRange || [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const px = (x) => 30 + (x - x0) / (x1 - x0 || 1) * (width - 40);
  svg.dataset.x0 = x0;  // the x range, so a click can be turned back into an x (chartX)
  svg.dataset.x1 = x1;
  const py = (y) => height - 16 - (y - y0) / (y1 - y0 || 1) * (height - 28);
  const add = (tag, attrs, text) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    svg.appendChild(node);
    return node;
  };
  for (const m of marks) {
    add("line", { x1: px(m.x), x2: px(m.x), y1: 4, y2: height - 16, stroke: m.colour || "#b71c1c",
                  "stroke-dasharray": "3,2" });
    add("text", { x: px(m.x) + 2, y: 12, "font-size": 10, fill: m.colour || "#b71c1c" }, m.name);
  }
  series.forEach((s, k) => {
    const points = s.points.filter((p) => p[1] !== null && p[1] !== undefined);
    add("polyline", { points: points.map((p) => `${px(p[0])},${py(p[1])}`).join(" "), fill: "none",
                      stroke: s.colour, "stroke-width": 1.5 });
    for (const p of points) add("circle", { cx: px(p[0]), cy: py(p[1]), r: 2, fill: s.colour });
    add("text", { x: width - 8, y: 12 + 12 * k, "font-size": 10, "text-anchor": "end", fill: s.colour }, s.name);
  });
  add("text", { x: 2, y: 12, "font-size": 10 }, cell(y1));
  add("text", { x: 2, y: height - 18, "font-size": 10 }, cell(y0));
  add("text", { x: 30, y: height - 3, "font-size": 10 }, `${cell(x0)} … ${cell(x1)} ${xLabel}`);
  return svg;
}
