// The dashboard page: pickers for table, revision and run, the views, and how they are wired together.
import { $, api, loadWords, on, option, say, state } from "./core.js";
import { initEdits } from "./edits.js";
import { forgetSelection, initGrid, loadPage, showSelected } from "./grid.js";
import { initMap, loadMap, mapShown } from "./map.js";
import { initPanels, loadRevisions as loadLog, loadRuns, loadSuggestions } from "./panels.js";
import { initKeys } from "./keys.js";
import { initTiles } from "./tiles.js";
import { initViewer } from "./viewer.js";

const VIEWS = ["samples", "suggestions", "revisions", "runs"];
let knownRuns = [];

// The newest run trained on a dataset's tables: the one whose metrics and map a table of it opens with.
const newestRunOf = (dataset) => knownRuns.filter((r) => (r.trained_on || "").startsWith(`${dataset}/`)).pop()?.run
  ?? "";

async function loadTables() {
  const [{ current, tables, author }, { runs }] = await Promise.all([api("/api/tables"), api("/api/runs")]);
  knownRuns = runs;
  if (!$("author").value) $("author").value = author;
  $("table").replaceChildren();
  for (const t of tables.filter((t) => t.kind === "clips" || t.kind === "test")) {
    option($("table"), `${t.dataset}/${t.name}`, `${t.dataset}/${t.name} (head ${t.head})`);
  }
  $("run").replaceChildren();
  option($("run"), "", "no run");
  for (const r of runs.slice().reverse()) option($("run"), r.run, `${r.run} (${r.trained_on || r.status})`);
  const initial = new URLSearchParams(location.search);
  const wanted = initial.get("table") || tables.find((t) => t.dataset === current && t.kind === "clips");
  if (typeof wanted === "string") $("table").value = wanted.split("@")[0];
  else if (wanted) $("table").value = `${wanted.dataset}/${wanted.name}`;
  const run = initial.get("run") ?? newestRunOf($("table").value.split("/")[0]);
  $("run").value = runs.some((r) => r.run === run) ? run : "";
  if (initial.get("view")) show(initial.get("view"));
  if (["tiles", "table"].includes(initial.get("layout"))) $("layout").value = initial.get("layout");
  const number = typeof wanted === "string" && wanted.includes("@") ? Number(wanted.split("@")[1]) : undefined;
  await loadRevisions(number);
}

// A message's file paths by their last two parts (the revisions view shows them whole).
const shortPaths = (text) => text.replace(/(?:\/[^\s/]+)+(\/[^\s/]+\/[^\s/]+)/g, "…$1");

async function loadRevisions(number) {
  state.table = $("table").value;
  if (number !== undefined) state.revision = number;  // at once: what the user does next is on this revision
  state.dataset = state.table.split("/")[0];
  const { revisions } = await api(`/api/log?table=${encodeURIComponent(state.table)}`);
  $("revision").replaceChildren();
  for (const r of revisions) option($("revision"), r.number, `@${r.number} ${shortPaths(r.message)}`);
  state.head = revisions[0].number;
  $("table").selectedOptions[0].textContent = `${state.table} (head ${state.head})`;
  $("revision").value = number ?? state.head;
  await refresh();
}

async function refresh() {
  state.revision = Number($("revision").value);
  state.run = $("run").value;
  const view = current();
  await Promise.all([loadPage(0), loadMap(),
                     view === "suggestions" ? loadSuggestions() : null,
                     view === "revisions" ? loadLog() : null, view === "runs" ? loadRuns() : null]);
}

function current() {
  return VIEWS.find((v) => !$(`view-${v}`).hidden);
}

function show(view) {
  if (!VIEWS.includes(view)) return;
  for (const v of VIEWS) {
    $(`view-${v}`).hidden = v !== view;
    if (v === view) $(`tab-${v}`).setAttribute("aria-current", "page");
    else $(`tab-${v}`).removeAttribute("aria-current");
  }
  if (!state.table) return;
  if (view === "samples") mapShown();
  if (view === "suggestions") loadSuggestions();
  if (view === "revisions") loadLog().catch((e) => say(e.message, true));
  if (view === "runs") loadRuns().catch((e) => say(e.message, true));
}

// The line between the panes: dragged, or moved with the arrow keys, it sets the samples' share of the width (kept
// for the next visit); the map redraws at its new size.
function initSplitter() {
  const splitter = $("splitter");
  const set = (share) => {
    const clamped = Math.min(80, Math.max(30, Math.round(share)));
    document.documentElement.style.setProperty("--views", `${clamped}%`);
    splitter.setAttribute("aria-valuenow", clamped);
    localStorage.setItem("curate-views", clamped);
    window.dispatchEvent(new Event("resize"));
  };
  const saved = Number(localStorage.getItem("curate-views"));
  if (saved) set(saved);
  splitter.addEventListener("pointerdown", (down) => {
    down.preventDefault();
    const box = document.querySelector("main").getBoundingClientRect();
    const move = (event) => set(((event.clientX - box.left) / box.width) * 100);
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", () => window.removeEventListener("pointermove", move), { once: true });
  });
  splitter.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: -5, ArrowRight: 5 }[event.key];
    if (!step) return;
    event.preventDefault();
    set(Number(splitter.getAttribute("aria-valuenow")) + step);
  });
}

$("table").onchange = () => {  // a run of another dataset has no metrics for this table: its own newest instead
  const run = knownRuns.find((r) => r.run === $("run").value);
  if (!run || !(run.trained_on || "").startsWith(`${$("table").value.split("/")[0]}/`)) {
    $("run").value = newestRunOf($("table").value.split("/")[0]);
  }
  loadRevisions();
};
$("revision").onchange = refresh;
$("run").onchange = refresh;
for (const v of VIEWS) $(`tab-${v}`).onclick = () => show(v);
on("revisions-changed", (number) => { forgetSelection(); loadRevisions(number); });
on("selection", (source) => { if (source === "map" || source === "neighbours") showSelected(true); });
initSplitter();
initGrid();
initTiles();
initKeys();
initMap();
initViewer();
initEdits();
initPanels();
Promise.all([loadWords(), loadTables()]).catch((error) => say(error.message, true));
