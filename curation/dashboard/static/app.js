// The dashboard page: a client of /api. Data from the server is shown with textContent, never as HTML.
"use strict";

const TOKEN = document.querySelector('meta[name="curate-token"]').content;
const PAGE = 100;
const state = { table: null, revision: null, run: "", where: "", sort: null, desc: false, offset: 0,
                total: 0, rows: [], selected: new Set(), pending: [], current: null, timer: null };
const $ = (id) => document.getElementById(id);

async function api(path, options = {}) {
  const response = await fetch(path, options);
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : {};
  if (!response.ok) throw Object.assign(new Error(body.message || body.problem || response.statusText),
                                        { status: response.status, body });
  return body;
}

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

function option(select, value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  select.appendChild(o);
}

async function loadTables() {
  const { current, tables } = await api("/api/tables");
  $("table").replaceChildren();
  for (const t of tables.filter((t) => t.kind === "clips")) {
    option($("table"), `${t.dataset}/${t.name}`, `${t.dataset}/${t.name} (head ${t.head})`);
  }
  const initial = new URLSearchParams(location.search);
  const wanted = initial.get("table") || tables.find((t) => t.dataset === current && t.kind === "clips");
  if (typeof wanted === "string") $("table").value = wanted.split("@")[0];
  else if (wanted) $("table").value = `${wanted.dataset}/${wanted.name}`;
  if (initial.get("run")) $("run").value = initial.get("run");
  await loadRevisions();
}

async function loadRevisions() {
  state.table = $("table").value;
  const { revisions } = await api(`/api/log?table=${encodeURIComponent(state.table)}`);
  $("revision").replaceChildren();
  for (const r of revisions) option($("revision"), r.number, `@${r.number} ${r.message}`);
  state.revision = revisions[0].number;
  await loadPage(0);
}

async function loadPage(offset) {
  state.revision = Number($("revision").value);
  state.run = $("run").value.trim();
  state.where = $("where").value.trim();
  const params = new URLSearchParams({ table: `${state.table}@${state.revision}`, offset, limit: PAGE });
  if (state.run) params.set("run", state.run);
  if (state.where) params.set("where", state.where);
  if (state.sort) { params.set("sort", state.sort); params.set("desc", state.desc ? "1" : "0"); }
  try {
    const page = await api(`/api/samples?${params}`);
    Object.assign(state, { offset: page.offset, total: page.total, rows: page.rows });
    drawGrid(page.columns);
    $("count").textContent = `${page.offset + 1}–${page.offset + page.rows.length} of ${page.total}`;
    say("");
  } catch (error) {
    say(error.message, true);
  }
}

function cell(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "number" && !Number.isInteger(value) ? value.toFixed(4) : String(value);
}

function drawGrid(columns) {
  const head = document.createElement("tr");
  head.appendChild(document.createElement("th"));
  for (const c of columns) {
    const th = document.createElement("th");
    th.textContent = c + (state.sort === c ? (state.desc ? " ▼" : " ▲") : "");
    th.onclick = () => { state.desc = state.sort === c ? !state.desc : false; state.sort = c; loadPage(0); };
    head.appendChild(th);
  }
  $("grid").tHead.replaceChildren(head);
  const body = $("grid").tBodies[0];
  body.replaceChildren();
  for (const row of state.rows) {
    const tr = document.createElement("tr");
    tr.dataset.id = row.clip_id;
    tr.className = state.selected.has(row.clip_id) ? "selected" : "";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = state.selected.has(row.clip_id);
    box.onclick = (event) => { event.stopPropagation(); toggle(row.clip_id, tr, box.checked); };
    const first = document.createElement("td");
    first.appendChild(box);
    tr.appendChild(first);
    for (const c of columns) {
      const td = document.createElement("td");
      td.textContent = cell(row[c]);
      tr.appendChild(td);
    }
    tr.onclick = () => showClip(row, tr);
    body.appendChild(tr);
  }
}

function toggle(id, tr, on) {
  if (on) state.selected.add(id); else state.selected.delete(id);
  tr.className = on ? "selected" : "";
}

function frameIds(row) {
  const ids = [];
  for (let k = 0; k < row.n_frames; k++) {
    ids.push(`${row.video_id}:${Math.max(0, row.end_frame - (row.n_frames - 1 - k) * row.stride)}`);
  }
  return ids;
}

function showClip(row, tr) {
  document.querySelectorAll("tr.current").forEach((r) => r.classList.remove("current"));
  tr.classList.add("current");
  state.current = row;
  const dataset = state.table.split("/")[0];
  const urls = frameIds(row).map((id) => `/api/frames/${encodeURIComponent(dataset)}/${encodeURIComponent(id)}`);
  $("clip-title").textContent = `${row.clip_id} · label ${cell(row.label)} · weight ${cell(row.weight)}`
    + (row.loss !== undefined ? ` · loss ${cell(row.loss)}` : "");
  $("strip").replaceChildren(...urls.map((url) => Object.assign(document.createElement("img"), { src: url })));
  const fps = row.end_time_s > 0 ? row.end_frame / row.end_time_s : 10;  // the video's own frame rate
  clearInterval(state.timer);
  let k = 0;
  $("clip-frame").src = urls[0];
  state.timer = setInterval(() => { k = (k + 1) % urls.length; $("clip-frame").src = urls[k]; },
                            1000 * row.stride / fps);
}

function level() {
  return document.querySelector('input[name="level"]:checked').value;
}

function stage(action, value) {
  if (!state.selected.size) { say("select rows first", true); return; }
  const rows = state.rows.filter((r) => state.selected.has(r.clip_id));
  const ids = level() === "video" ? [...new Set(rows.map((r) => r.video_id))] : [...state.selected];
  state.pending.push({ action, value, level: level(), ids });
  drawPending();
}

function drawPending() {
  $("pending").replaceChildren(...state.pending.map((p) => Object.assign(document.createElement("li"), {
    textContent: `${p.action}${p.value !== undefined ? " " + p.value : ""} on ${p.ids.length} ${p.level}(s)` })));
}

async function commit(rebase = false) {
  const edits = state.pending.flatMap((p) => p.ids.map((id) => ({ id, action: p.action, value: p.value,
                                                                   level: p.level })));
  try {
    const result = await api("/api/edits", {
      method: "POST", headers: { "content-type": "application/json", "x-curate-token": TOKEN },
      body: JSON.stringify({ table: `${state.table}@${state.revision}`, message: $("message").value, edits,
                             rebase }) });
    state.pending = [];
    state.selected.clear();
    drawPending();
    $("conflict").hidden = true;
    say(`committed ${result.revision}`);
    await loadRevisions();
  } catch (error) {
    if (error.status === 409) {
      $("conflict-text").textContent = error.message;
      $("conflict").hidden = false;
    }
    say(error.message, true);
  }
}

$("table").onchange = loadRevisions;
$("revision").onchange = () => loadPage(0);
$("run").onchange = () => loadPage(0);
$("filter-form").onsubmit = (event) => { event.preventDefault(); loadPage(0); };
$("prev").onclick = () => loadPage(Math.max(0, state.offset - PAGE));
$("next").onclick = () => { if (state.offset + PAGE < state.total) loadPage(state.offset + PAGE); };
$("delete").onclick = () => stage("delete");
$("weight").onclick = () => { const w = prompt("weight (0 excludes from training)", "0"); if (w !== null) stage("weight", w); };
$("label").onclick = () => { const l = prompt("label (class name or index)"); if (l) stage("label", l); };
$("undo").onclick = () => { state.pending.pop(); drawPending(); };
$("commit").onclick = () => commit(false);
$("rebase").onclick = () => commit(true);
$("reload").onclick = () => { $("conflict").hidden = true; loadRevisions(); };
loadTables().catch((error) => say(error.message, true));
