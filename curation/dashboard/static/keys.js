// Keyboard shortcuts, ignored while typing in a field: j / k next / previous sample (in Suggestions: card), space
// play or pause the clip, d delete the selection, w set its weight (the value box, else 0), r relabel it (the value
// box), a / x accept / reject the current suggestion, u undo the last staged edit, ? list them.
import { $, say } from "./core.js";
import { stageSelection, undoStaged } from "./edits.js";
import { moveCurrent } from "./grid.js";
import { decideCurrent, moveSuggestion } from "./panels.js";
import { togglePlay } from "./viewer.js";

const reviewing = () => !$("view-suggestions").hidden;
const KEYS = {
  j: ["next sample or suggestion", () => (reviewing() ? moveSuggestion(1) : moveCurrent(1))],
  k: ["previous sample or suggestion", () => (reviewing() ? moveSuggestion(-1) : moveCurrent(-1))],
  " ": ["play / pause the clip", () => togglePlay()],
  d: ["delete the selection", () => stageSelection("delete")],
  w: ["weight the selection (value box, else 0)", () => stageSelection("weight", $("edit-value").value.trim() || "0")],
  r: ["relabel the selection (value box)", () => relabel()],
  a: ["accept the current suggestion", () => decideCurrent("accepted")],
  x: ["reject the current suggestion", () => decideCurrent("rejected")],
  u: ["undo the last staged edit", () => undoStaged()],
  "?": ["these keys", () => say(Object.entries(KEYS).map(([k, [what]]) => `${k === " " ? "space" : k} ${what}`)
    .join(" · "))],
};

function relabel() {
  const value = $("edit-value").value.trim();
  if (value) stageSelection("label", value);
  else { $("edit-value").focus(); say("type the new label in the value box, then press r again", true); }
}

export function initKeys() {
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest?.("input, select, textarea, button")) {
      return;
    }
    const found = KEYS[event.key];
    if (!found) return;
    event.preventDefault();
    found[1]();
  });
}
