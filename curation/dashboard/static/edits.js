// The change set: edits staged from any selection (grid, map, viewer, suggestions), shown with counts, undone
// one by one, and committed with a message as ONE new revision (the library validates and detects conflicts).
import { $, el, emit, post, ref, say, state } from "./core.js";

export function stage(action, value, level, ids, source) {
  if (!ids.length) { say("select rows first", true); return; }
  state.pending.push({ action, value, level, ids, source });
  drawPending();
}

// The selection as ids at the chosen level: clips, their videos, or the videos picked in the video view.
function selectionIds() {
  if (state.selectedVideos.size) return { level: "video", ids: [...state.selectedVideos] };
  const level = document.querySelector('input[name="level"]:checked').value;
  if (level === "clip") return { level, ids: [...state.selected] };
  return { level, ids: [...new Set([...state.selected].map((id) => state.videoOf.get(id)).filter(Boolean))] };
}

function stageSelection(action, value) {
  const { level, ids } = selectionIds();
  stage(action, value, level, ids, "selection");
}

export function drawPending() {
  $("pending").replaceChildren(...state.pending.map((p) => el("li", {
    textContent: `${p.action}${p.value !== undefined ? " " + p.value : ""} on ${p.ids.length} ${p.level}(s)`
      + (p.source && p.source !== "selection" ? ` (${p.source})` : "") })));
  const total = state.pending.reduce((n, p) => n + p.ids.length, 0);
  $("pending-count").textContent = state.pending.length ? `${total} edit(s) staged for ${ref()}` : "nothing staged";
}

async function commit(rebase = false) {
  const edits = state.pending.flatMap((p) => p.ids.map((id) => ({ id, action: p.action, value: p.value,
                                                                   level: p.level })));
  $("commit").disabled = $("rebase").disabled = true;  // one commit at a time: a double click commits once
  say(`committing ${edits.length} edit(s) to ${ref()}…`);
  try {
    const result = await post("/api/edits", { table: ref(), message: $("message").value, edits, rebase });
    state.pending = [];
    $("message").value = "";
    drawPending();
    $("conflict").hidden = true;
    emit("revisions-changed", result.number);
    say(`committed ${result.revision}` + (result.warning ? ` — note: ${result.warning}` : ""));
  } catch (error) {
    if (error.status === 409) {
      $("conflict-text").textContent = error.message;
      $("conflict").hidden = false;
    }
    say(`commit failed: ${error.message}`, true);
  } finally {
    $("commit").disabled = $("rebase").disabled = false;
  }
}

export function initEdits() {
  $("delete").onclick = () => stageSelection("delete");
  $("weight").onclick = () => stageSelection("weight", $("edit-value").value.trim());
  $("label").onclick = () => stageSelection("label", $("edit-value").value.trim());
  $("undo").onclick = () => { state.pending.pop(); drawPending(); };
  $("commit").onclick = () => commit(false);
  $("rebase").onclick = () => commit(true);
  $("reload").onclick = () => { $("conflict").hidden = true; emit("revisions-changed"); };
  drawPending();
}
