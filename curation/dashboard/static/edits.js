// The change set: edits staged from any selection (grid, map, viewer, suggestions), shown with counts, undone
// one by one, and committed with a message as ONE new revision (the library validates and detects conflicts).
import { $, el, emit, post, ref, say, state } from "./core.js";

export function stage(action, value, level, ids, source) {
  if (!ids.length) { say("select rows first", true); return; }
  state.pending.push({ action, value, level, ids, source });
  drawPending();
  emit("staged");
}

// The selection as ids at the chosen level: clips, their videos, or the videos picked in the video view.
function selectionIds() {
  if (state.selectedVideos.size) return { level: "video", ids: [...state.selectedVideos] };
  const level = document.querySelector('input[name="level"]:checked').value;
  if (level === "clip") return { level, ids: [...state.selected] };
  return { level, ids: [...new Set([...state.selected].map((id) => state.videoOf.get(id)).filter(Boolean))] };
}

export function undoStaged() {
  state.pending.pop();
  drawPending();
  emit("staged");
}

export function stageSelection(action, value) {
  const { level, ids } = selectionIds();
  stage(action, value, level, ids, "selection");
}

// The staged ids that changed since the page's revision (another tab or user committed first): a staged edit
// on a clip, or on a video, is marked by the clips of it that changed.
function changedIn(p) {
  if (!state.conflict) return [];
  return state.conflict.changed.filter((c) => p.ids.includes(p.level === "video" ? c.parent : c.id));
}

export function drawPending() {
  $("pending").replaceChildren(...state.pending.map((p) => {
    const changed = changedIn(p);
    return el("li", { className: changed.length ? "changed" : "",
      textContent: `${p.action}${p.value !== undefined ? " " + p.value : ""} on ${p.ids.length} ${p.level}(s)`
        + (p.source && p.source !== "selection" ? ` (${p.source})` : "")
        + (changed.length ? ` — ${changed.length} changed meanwhile` : "") });
  }));
  const total = state.pending.reduce((n, p) => n + p.ids.length, 0);
  $("pending-count").textContent = state.pending.length ? `${total} edit(s) staged for ${ref()}` : "nothing staged";
}

const shown = (v) => (typeof v === "number" ? String(Number(v.toPrecision(6))) : v);  // float32 0.3, not 0.30000001
const CHANGE_TEXT = { deleted: () => "deleted", reweighted: (c) => `weight ${shown(c.base)} → ${shown(c.head)}`,
                      relabeled: (c) => `label ${c.base} → ${c.head}` };

// A commit refused because the page's revision is no longer the head: the user sees the staged edits against
// the new head, with every row that changed meanwhile listed and unticked; "apply on the head" commits the
// staged edits minus the rows left unticked, so nobody's change is overwritten unseen.
function showConflict(body) {
  state.conflict = { base: body.base, head: body.head, headNumber: body.head_number, changed: body.changed || [] };
  const n = state.conflict.changed.length;
  $("conflict-text").textContent = `${body.head} is now the head: someone committed after ${body.base}. `
    + (n ? `${n} row(s) you staged changed meanwhile; tick those your edit should still change.`
         : "None of the rows you staged changed meanwhile.");
  $("conflict-rows").replaceChildren(...state.conflict.changed.map((c) => el("li", {},
    el("label", {}, el("input", { type: "checkbox", value: c.id }),
       ` ${c.id}${c.parent ? " (" + c.parent + ")" : ""}: ${CHANGE_TEXT[c.change](c)} at the head`))));
  $("conflict").hidden = false;
  drawPending();
}

function closeConflict() {
  state.conflict = null;
  $("conflict").hidden = true;
  $("conflict-rows").replaceChildren();
}

// The staged edits without the changed rows left unticked, moved onto the head, then committed there.
function applyOnHead() {
  const confirmed = new Set([...document.querySelectorAll("#conflict-rows input:checked")].map((i) => i.value));
  const { headNumber } = state.conflict;
  state.pending = state.pending.map((p) => {
    const dropped = new Set(changedIn(p).filter((c) => !confirmed.has(c.id))
      .map((c) => (p.level === "video" ? c.parent : c.id)));
    return { ...p, ids: p.ids.filter((id) => !dropped.has(id)) };
  }).filter((p) => p.ids.length);
  closeConflict();
  emit("revisions-changed", headNumber);  // the page moves to the head at once; the commit goes there
  if (state.pending.length) commit();
  else { drawPending(); say("nothing left to commit: every staged row had changed meanwhile"); }
}

// What the staged edits do, as a commit message when the user writes none: "label issue: weight 0 on 7 videos
// (accepted suggestions); delete on 2 clips".
function defaultMessage() {
  const parts = new Map();
  for (const p of state.pending) {
    const what = `${p.action}${p.value !== undefined && p.value !== "" ? " " + p.value : ""}`;
    const key = p.source?.startsWith("suggestion: ") ? `${p.source.slice(12)}: ${what}|${p.level}|accepted suggestions`
      : `${what}|${p.level}|${p.source === "selection" ? "" : p.source}`;
    parts.set(key, (parts.get(key) || 0) + p.ids.length);
  }
  return [...parts].map(([key, n]) => {
    const [what, level, source] = key.split("|");
    return `${what} on ${n} ${level}${n === 1 ? "" : "s"}${source ? ` (${source})` : ""}`;
  }).join("; ");
}

export function commitStaged() {
  if (!state.pending.length) { say("nothing staged to commit", true); return; }
  commit();
}

async function commit() {
  const edits = state.pending.flatMap((p) => p.ids.map((id) => ({ id, action: p.action, value: p.value,
                                                                   level: p.level })));
  const message = $("message").value.trim() || defaultMessage();
  $("commit").disabled = $("apply-head").disabled = true;  // one commit at a time: a double click commits once
  say(`committing ${edits.length} edit(s) to ${ref()}…`);
  try {
    const result = await post("/api/edits", { table: ref(), message, edits,
                                              author: $("author").value.trim() });
    state.pending = [];
    $("message").value = "";
    closeConflict();
    drawPending();
    emit("revisions-changed", result.number);
    say(`committed ${result.revision}` + (result.retimed ? ` (${result.retimed} labelled time(s) moved)` : "")
        + (result.warning ? ` — note: ${result.warning}` : ""));
  } catch (error) {
    if (error.status === 409 && error.body?.head) {
      showConflict(error.body);
      say(`commit refused: ${error.body.head} was committed meanwhile — see the change set`, true);
    } else say(`commit failed: ${error.message}`, true);
  } finally {
    $("commit").disabled = $("apply-head").disabled = false;
  }
}

export function initEdits() {
  $("delete").onclick = () => stageSelection("delete");
  $("weight").onclick = () => stageSelection("weight", $("edit-value").value.trim());
  $("label").onclick = () => stageSelection("label", $("edit-value").value.trim());
  $("undo").onclick = undoStaged;
  $("commit").onclick = () => commit();
  $("apply-head").onclick = applyOnHead;
  $("discard").onclick = () => {
    const { headNumber } = state.conflict;
    state.pending = [];
    closeConflict();
    drawPending();
    emit("revisions-changed", headNumber);
  };
  drawPending();
}
