// The samples grid: server-side filter, sort and paging over a revision joined with a run's metrics; a clip
// view and a video view; "selected only" pages through the selection made here, on the map or in the viewer.
import { $, api, cell, el, emit, on, post, ref, say, state, unsay } from "./core.js";

const PAGE = 100;
const grid = { view: "clips", sort: null, desc: false, offset: 0, total: 0, rows: [], columns: [], hidden: new Set(),
               onlySelected: false, asked: 0 };

export async function loadPage(offset = 0) {
  const params = { table: ref(), offset, limit: PAGE, view: grid.view };
  if (state.run) params.run = state.run;
  const where = $("where").value.trim();
  if (where) params.where = where;
  if (grid.sort) Object.assign(params, { sort: grid.sort, desc: grid.desc ? "1" : "0" });
  const chosen = grid.view === "videos" ? state.selectedVideos : state.selected;
  const asked = ++grid.asked;  // answers can arrive out of order: only the latest request's page is drawn
  try {
    const page = grid.onlySelected
      ? await post("/api/samples", { ...params, ids: [...chosen] })
      : await api(`/api/samples?${new URLSearchParams(params)}`);
    if (asked !== grid.asked) return;
    if (grid.sort && !page.columns.includes(grid.sort)) grid.sort = null;
    Object.assign(grid, { offset: page.offset, total: page.total, rows: page.rows, columns: page.columns,
                          key: page.key });
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
  const head = el("tr", {}, el("th"));
  for (const c of columns) {
    head.appendChild(el("th", {
      textContent: c + (grid.sort === c ? (grid.desc ? " ▼" : " ▲") : ""),
      onclick: () => { grid.desc = grid.sort === c ? !grid.desc : false; grid.sort = c; loadPage(0); } }));
  }
  $("grid").tHead.replaceChildren(head);
  $("grid").tBodies[0].replaceChildren(...grid.rows.map((row) => {
    const id = row[grid.key];
    const tr = el("tr", { className: chosen.has(id) ? "selected" : "" });
    tr.dataset.id = id;
    const box = el("input", { type: "checkbox", checked: chosen.has(id) });
    box.onclick = (event) => {
      event.stopPropagation();
      if (box.checked) chosen.add(id); else chosen.delete(id);
      tr.className = box.checked ? "selected" : "";
      emit("selection", "grid");
    };
    tr.append(el("td", {}, box), ...columns.map((c) => el("td", { textContent: cell(row[c]) })));
    tr.onclick = () => {
      document.querySelectorAll("#grid tr.current").forEach((r) => r.classList.remove("current"));
      tr.classList.add("current");
      emit("show-clip", grid.view === "videos" ? { video: id } : { id });
    };
    return tr;
  }));
  drawColumnChooser();
  $("selection-count").textContent = `${state.selected.size} clip(s), ${state.selectedVideos.size} video(s) selected`;
}

function drawColumnChooser() {
  $("columns").replaceChildren(...grid.columns.map((c) => {
    const box = el("input", { type: "checkbox", checked: !grid.hidden.has(c) });
    box.onchange = () => { if (box.checked) grid.hidden.delete(c); else grid.hidden.add(c); draw(); };
    return el("label", {}, box, " " + c);
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
  $("grid-view").onchange = () => { grid.view = $("grid-view").value; grid.sort = null; loadPage(0); };
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
  on("selection", (source) => { if (source !== "grid") { if (grid.onlySelected) loadPage(0); else draw(); } });
}
