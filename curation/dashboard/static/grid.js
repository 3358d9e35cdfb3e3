// The samples: server-side filter, sort and paging over a revision joined with a run's metrics, shown as
// thumbnails (tiles.js, the default) or as this table of numbers; a clip view and a video view; "selected only"
// pages through the selection made here, on the map or in the viewer.
import { $, api, cell, el, emit, on, post, ref, say, state, unsay, words } from "./core.js";
import { loadTiles, moveTile } from "./tiles.js";

const PAGE = 100;
// The metrics users came for, shown first when the run has them; the rest follow in the table's order.
const FIRST = ["clip_id", "video_id", "split", "label", "weight", "eval_loss", "eval_prob", "margin", "aum",
               "pred", "suggestion", "suggestion_score"];
const grid = { view: "clips", offset: 0, total: 0, rows: [], columns: [], hidden: new Set(), onlySelected: false,
               asked: 0, current: -1 };

// One request for rows of the samples as the page asks for them (filter, sort, view, selection): the table and
// the tiles both page through it.
function request(offset, limit, extra = {}) {
  const params = { table: ref(), offset, limit, view: grid.view, ...extra };
  if (state.run) params.run = state.run;
  const where = $("where").value.trim();
  if (where) params.where = where;
  if ($("sort").value) Object.assign(params, { sort: $("sort").value, desc: $("desc").checked ? "1" : "0" });
  const chosen = grid.view === "videos" ? state.selectedVideos : state.selected;
  return grid.onlySelected ? post("/api/samples", { ...params, ids: [...chosen] })
    : api(`/api/samples?${new URLSearchParams(params)}`);
}

export async function loadPage(offset = 0) {
  const tiled = $("layout").value === "tiles";
  $("tiles").hidden = !tiled;
  document.querySelector(".grid-wrap").hidden = tiled;
  $("prev").hidden = $("next").hidden = tiled;  // tiles scroll instead
  if (tiled) return loadTiles(request, grid.view, fillSortChoices);
  const asked = ++grid.asked;  // answers can arrive out of order: only the latest request's page is drawn
  try {
    const page = await request(offset, PAGE);
    if (asked !== grid.asked) return;
    fillSortChoices(page.columns, page.rows);
    const order = FIRST.filter((c) => page.columns.includes(c));
    Object.assign(grid, { offset: page.offset, total: page.total, rows: page.rows, key: page.key, current: -1,
                          columns: order.concat(page.columns.filter((c) => !order.includes(c))) });
    for (const row of page.rows) if (row.video_id && row.clip_id) state.videoOf.set(row.clip_id, row.video_id);
    draw();
    $("count").textContent = page.total
      ? `${page.offset + 1}–${page.offset + page.rows.length} of ${page.total}` : "no rows";
    unsay("grid");
  } catch (error) {
    if (asked === grid.asked) say(error.message, true, "grid");
  }
}

function draw() {
  const columns = grid.columns.filter((c) => !grid.hidden.has(c));
  const chosen = grid.view === "videos" ? state.selectedVideos : state.selected;
  const head = el("tr", {}, el("th", {}, el("span", { className: "visually-hidden", textContent: "selected" })));
  const sort = $("sort").value, desc = $("desc").checked;
  for (const c of columns) {  // a header sorts by its column (a button: reachable by keyboard); hover explains it
    head.appendChild(el("th", { title: words.columns[c] || "" }, el("button", { type: "button", className: "sort",
      textContent: c + (sort === c ? (desc ? " ▼" : " ▲") : ""),
      onclick: () => { $("desc").checked = sort === c ? !desc : false; $("sort").value = c; loadPage(0); } })));
  }
  $("grid").tHead.replaceChildren(head);
  $("grid").tBodies[0].replaceChildren(...grid.rows.map((row, index) => {
    const id = row[grid.key];
    const tr = el("tr", { className: chosen.has(id) ? "selected" : "" });
    tr.dataset.id = id;
    const box = el("input", { type: "checkbox", checked: chosen.has(id), ariaLabel: `select ${id}` });
    box.onclick = (event) => {
      event.stopPropagation();
      if (box.checked) chosen.add(id); else chosen.delete(id);
      tr.className = box.checked ? "selected" : "";
      emit("selection", "grid");
    };
    tr.append(el("td", {}, box), ...columns.map((c) => el("td", { textContent: cell(row[c]) })));
    tr.onclick = () => setCurrent(index);
    return tr;
  }));
  drawColumnChooser();
  countSelection();
}

function countSelection() {
  $("selection-count").textContent = `${state.selected.size} clip(s), ${state.selectedVideos.size} video(s) selected`;
}

function setCurrent(index) {
  const rows = $("grid").tBodies[0].rows;
  if (index < 0 || index >= rows.length) return;
  document.querySelectorAll("#grid tr.current").forEach((r) => r.classList.remove("current"));
  rows[index].classList.add("current");
  rows[index].scrollIntoView({ block: "nearest" });
  grid.current = index;
  const id = grid.rows[index][grid.key];
  emit("show-clip", grid.view === "videos" ? { video: id } : { id });
}

// j / k: the next or previous sample, in the thumbnails or the table, shown in the viewer and selected alone.
export function moveCurrent(step) {
  if ($("layout").value === "tiles") { moveTile(step); return; }
  if (!grid.rows.length) return;
  const index = Math.max(0, Math.min(grid.rows.length - 1, grid.current + step));
  setCurrent(index);
  const chosen = grid.view === "videos" ? state.selectedVideos : state.selected;
  chosen.clear();
  chosen.add(grid.rows[index][grid.key]);
  emit("selection", "keys");
}

// The sort choices and the filter's column names: every column of the rows, once known.
export function fillSortChoices(columns, rows = []) {
  const numeric = columns.filter((c) => rows.some((r) => typeof r[c] === "number"));
  emit("columns", { columns, numeric });
  const sort = $("sort");
  const known = new Set([...sort.options].map((o) => o.value));
  for (const c of columns) if (!known.has(c)) sort.appendChild(el("option", { value: c, textContent: c }));
  grid.names = columns;
  completeWhere();
}

// Completion of the column name being typed in the filter: the text so far with each column that starts
// with its last word (a datalist completes whole values).
function completeWhere() {
  const text = $("where").value;
  const word = text.match(/[A-Za-z_][A-Za-z0-9_]*$/)?.[0] ?? "";
  const head = text.slice(0, text.length - word.length);
  $("where-columns").replaceChildren(...(grid.names || []).filter((c) => c.startsWith(word) && c !== word)
    .map((c) => el("option", { value: head + c })));
}

function drawColumnChooser() {
  $("columns").replaceChildren(...grid.columns.map((c) => {
    const box = el("input", { type: "checkbox", checked: !grid.hidden.has(c) });
    box.onchange = () => { if (box.checked) grid.hidden.delete(c); else grid.hidden.add(c); draw(); };
    return el("label", { title: words.columns[c] || "" }, box, " " + c);
  }));
}

export function showSelected(on_ = true) {
  grid.onlySelected = on_;
  $("only-selected").checked = on_;
  return loadPage(0);
}

// After a commit the selection is spent: the grid pages through the new revision again.
export function forgetSelection() {
  state.selected.clear();
  state.selectedVideos.clear();
  grid.onlySelected = false;
  $("only-selected").checked = false;
}

export function initGrid() {
  $("filter-form").onsubmit = (event) => { event.preventDefault(); loadPage(0); };
  $("prev").onclick = () => loadPage(Math.max(0, grid.offset - PAGE));
  $("next").onclick = () => { if (grid.offset + PAGE < grid.total) loadPage(grid.offset + PAGE); };
  $("only-selected").onchange = () => showSelected($("only-selected").checked);
  $("grid-view").onchange = () => { grid.view = $("grid-view").value; $("sort").value = ""; loadPage(0); };
  $("layout").onchange = () => loadPage(0);
  $("where").addEventListener("input", completeWhere);
  $("sort").onchange = () => loadPage(0);
  $("desc").onchange = () => loadPage(0);
  $("select-page").onclick = () => {
    const chosen = grid.view === "videos" ? state.selectedVideos : state.selected;
    for (const row of grid.rows) chosen.add(row[grid.key]);
    emit("selection", "grid");
    draw();
  };
  $("clear-selection").onclick = () => {
    state.selected.clear();
    state.selectedVideos.clear();
    emit("selection", "clear");
    if (grid.onlySelected) showSelected(false); else draw();
  };
  on("suggested", () => { if ($("layout").value === "table") loadPage(grid.offset); });  // their columns appear
  on("selection", (source) => {  // the map's and the neighbours' selections are shown by app.js (selected only)
    countSelection();
    if (source === "grid" || $("layout").value !== "table") return;
    if (grid.onlySelected && source !== "keys") loadPage(0); else draw();
  });
}
