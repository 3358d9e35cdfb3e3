// The other views: suggestions to accept or reject, revisions (log, diff, tag, revert) and runs (curves, two
// side by side).
import { $, api, cell, el, emit, frameUrl, lineChart, on, post, say, state, words } from "./core.js";
import { commitStaged, stage } from "./edits.js";

// ---- suggestions ------------------------------------------------------------------------------------------------
// One card per proposal: what was seen in plain words, what accepting does, the evidence frames, the figures one
// click away. The current card is shown in the clip pane; a / x accept or reject it and move on, j / k move.
const decided = new Map();  // suggestion id → "accepted" | "rejected"
const review = { cards: [], current: -1 };

export async function loadSuggestions() {
  if (!state.run) {
    $("suggestions").replaceChildren(el("p", { className: "empty",
      textContent: "Pick a run in the header: suggestions come from what a trained model made of the samples." }));
    return;
  }
  $("suggestions").replaceChildren(el("p", { textContent: "computing suggestions…" }));
  try {
    const { suggestions, notes, table, dataset } = await api(`/api/suggestions?run=${encodeURIComponent(state.run)}`);
    const groups = {};
    for (const s of suggestions) (groups[s.signal] ||= []).push(s);
    state.suggested = new Map(suggestions.map((s) => [s.id, s.signal]));
    emit("suggested");
    review.cards = [];
    const bar = el("div", { className: "review-bar" },
      el("span", { textContent: `${suggestions.length} proposal(s) from ${state.run}, trained on ${table}` }),
      el("span", { id: "review-progress", className: "caption", role: "status" }),
      el("button", { id: "commit-accepted", className: "primary", onclick: () => commitStaged() }),
      el("span", { className: "hint", textContent: "keys: a accept · x reject · j / k next / previous" }));
    const sections = Object.entries(groups).map(([signal, items]) => {
      const cards = items.map((s) => card(s, dataset, table));
      const bulk = (verdict) => () => cards.forEach((c) => c.decide(verdict));
      return el("section", { className: "group" },
        el("h3", { title: words.signals[signal] || "" }, el("span", { textContent: `${signal} (${items.length})` }),
           el("span", { className: "caption", textContent: words.signals[signal] || "" }),
           el("button", { textContent: "accept all", className: "accept-all", onclick: bulk("accepted") }),
           el("button", { textContent: "reject all", onclick: bulk("rejected") })),
        ...cards.map((c) => c.node));
    });
    const empty = suggestions.length ? [] : [el("p", { className: "empty",
      textContent: "Nothing to review: no signal found a sample worth a second look in this run." })];
    $("suggestions").replaceChildren(bar, ...empty, ...sections, ...noteSection(notes));
    review.current = -1;
    drawProgress();
    const first = review.cards.findIndex((c) => !decided.has(c.id));
    if (first >= 0) setCurrent(first, false);
  } catch (error) {
    $("suggestions").replaceChildren(el("p", { className: "error", textContent: error.message }));
  }
}

// What suggest could not judge, after the cards; a note whose fix the dashboard can run has its button.
function noteSection(notes) {
  if (!notes.length) return [];
  return [el("section", { className: "notes" }, el("h3", { textContent: "Not checked" }),
    ...notes.map((note) => el("p", { className: "note" }, note.text + " ", ...noteAction(note))))];
}

function noteAction(note) {
  if (note.action !== "predict-events") return [];
  const button = el("button", { textContent: "predict event times now" });
  button.onclick = async () => {
    button.disabled = true;
    say(`predicting ${note.run}'s event times over every video (a minute or more)…`);
    try {
      const done = await post("/api/predict-events", { run: note.run });
      say(`event times predicted for ${done.videos} videos of ${done.table}`);
      await loadSuggestions();
    } catch (error) {
      say(error.message, true);
      button.disabled = false;
    }
  };
  return [button];
}

function drawProgress() {
  if (!$("review-progress")) return;
  const accepted = review.cards.filter((c) => decided.get(c.id) === "accepted").length;
  const done = review.cards.filter((c) => decided.has(c.id)).length;
  $("review-progress").textContent = `${done} of ${review.cards.length} decided · ${accepted} accepted`;
  const staged = state.pending.length;
  $("commit-accepted").textContent = staged ? "commit the change set" : "nothing accepted yet";
  $("commit-accepted").disabled = !staged;
}
on("staged", drawProgress);

// The card at `index` becomes the current one; its sample is shown in the clip pane.
function setCurrent(index, scroll = true) {
  const c = review.cards[index];
  if (!c) return;
  review.cards[review.current]?.node.classList.remove("current");
  review.current = index;
  c.node.classList.add("current");
  if (scroll) c.node.scrollIntoView({ block: "nearest" });
  if (c.target) emit("show-clip", c.target);
  else emit("show-nothing", `Video ${c.id} could not be read: it has no frames to show.`);
}

export function moveSuggestion(step) {
  setCurrent(Math.min(review.cards.length - 1, Math.max(0, review.current + step)));
}

// a / x: the current card (else the first undecided) accepted or rejected; then the next undecided one.
export function decideCurrent(verdict) {
  let index = review.cards[review.current] && !decided.has(review.cards[review.current].id) ? review.current
    : review.cards.findIndex((c) => !decided.has(c.id));
  if (index < 0) { say("no suggestion left to decide (open Suggestions with a run)", true); return; }
  review.cards[index].decide(verdict);
  const next = review.cards.findIndex((c, k) => k > index && !decided.has(c.id));
  index = next >= 0 ? next : review.cards.findIndex((c) => !decided.has(c.id));
  if (index >= 0) setCurrent(index);
}

function strip(dataset, frames, title) {
  const pick = frames.filter((_, k) => k % Math.ceil(frames.length / 6 || 1) === 0);
  return el("div", { className: "evidence" }, el("div", { className: "caption", textContent: title }),
            ...pick.map((id) => el("img", { src: frameUrl(dataset, id), alt: "" })));
}

function card(s, dataset, table) {
  const actions = s.action === "retime" ? ["retime"] : ["delete", "weight", "label"];  // a time moves, or a row
  const action = el("select", { ariaLabel: `action for ${s.id}` }, ...actions.map((a) => el("option", { value: a,
    textContent: a, selected: a === s.action })));
  const value = el("input", { value: s.value, size: 6, placeholder: "value", ariaLabel: `value for ${s.id}` });
  const node = el("article", { className: "suggestion" });
  node.dataset.id = s.id;
  const verdict = el("span", { className: "verdict" });
  const index = review.cards.length;
  const decide = (choice) => {
    if (decided.has(s.id)) return;
    decided.set(s.id, choice);
    if (choice === "accepted") stage(action.value, action.value === "delete" ? undefined : value.value, s.level, [s.id],
                                     `suggestion: ${s.signal}`);
    verdict.textContent = choice;
    node.classList.add(choice);
    drawProgress();
  };
  node.append(
    el("p", { className: "plain", textContent: s.plain || s.reason }),
    el("p", { className: "proposal", textContent: s.proposal }),
    el("div", { className: "strips" }, strip(dataset, s.frames, s.level === "video" ? `video ${s.id}` : s.id),
       ...(s.partner ? [strip(dataset, s.partner_frames, `its partner ${s.partner}`)] : [])),
    el("details", { className: "figures" }, el("summary", { textContent: "figures" }),
       el("div", { className: "what", textContent: `${s.level} ${s.id} · score ${cell(s.score)} · ${s.reason}` })),
    el("div", { className: "decision" },
       el("button", { textContent: "accept", className: "accept", onclick: () => decide("accepted") }),
       el("button", { textContent: "reject", className: "reject", onclick: () => decide("rejected") }),
       action, value, verdict));
  node.addEventListener("click", (event) => {  // a click on the card, not on one of its controls
    if (!event.target.closest("button, select, input, summary")) setCurrent(index);
  });
  if (decided.has(s.id)) { verdict.textContent = decided.get(s.id); node.classList.add(decided.get(s.id)); }
  // an unreadable video has no frames to show; a clip-level proposal shows its clip, a video-level its middle clip
  const target = s.signal === "unreadable" ? null  // from the revision it was found in: the one shown may lack it
    : { table, ...(s.level === "video" ? { video: s.id } : { id: s.id }) };
  review.cards.push({ id: s.id, node, decide, target });
  return { node, decide };
}

// ---- revisions ----------------------------------------------------------------------------------------------------
export async function loadRevisions() {
  const [{ revisions }, { tables }] = await Promise.all([
    api(`/api/log?table=${encodeURIComponent(state.table)}`), api("/api/tables")]);
  const [dataset, name] = state.table.split("/");
  const tags = tables.find((t) => t.dataset === dataset && t.name === name)?.tags || {};
  const tagsOf = (n) => Object.entries(tags).filter(([, v]) => v === n).map(([k]) => k).join(", ");
  const radio = (group, n, checked) => el("input", { type: "radio", name: group, value: n, checked,
                                                    ariaLabel: `${group === "diff-a" ? "A" : "B"}: @${n}` });
  $("log").tBodies[0].replaceChildren(...revisions.map((r, k) => el("tr", {},
    el("td", {}, radio("diff-a", r.number, k === 1 || revisions.length === 1)),
    el("td", {}, radio("diff-b", r.number, k === 0)),
    el("td", { textContent: `@${r.number}` }), el("td", { textContent: r.created?.slice(0, 19) || "" }),
    el("td", { textContent: r.op }), el("td", { textContent: r.author || "" }), el("td", { textContent: r.message }), el("td", { textContent: r.rows }),
    el("td", { textContent: Object.entries(r.counts || {}).map(([k, v]) => `${k} ${v}`).join(", ") }),
    el("td", { textContent: tagsOf(r.number) }))));
}

const picked = (group) => document.querySelector(`input[name="${group}"]:checked`)?.value;

async function showDiff() {
  const a = `${state.table}@${picked("diff-a")}`, b = `${state.table}@${picked("diff-b")}`;
  try {
    const d = await api(`/api/diff?${new URLSearchParams({ a, b })}`);
    const kinds = Object.keys(d.counts);
    $("diff").replaceChildren(
      el("h3", { textContent: `${d.a} → ${d.b}: ` + kinds.map((k) => `${k} ${d.counts[k]}`).join(", ") }),
      ...(d.per_parent.length ? [el("table", { className: "small" },
        el("tr", {}, ...[d.parent, ...kinds].map((h) => el("th", { textContent: h }))),
        ...d.per_parent.map((p) => el("tr", {}, el("td", { textContent: p.parent }),
                                              ...kinds.map((k) => el("td", { textContent: p[k] || "" })))))] : []),
      ...kinds.filter((k) => d.changes[k].length).map((k) => el("p", { className: "ids",
        textContent: `${k}: ` + d.changes[k].map((x) => (Array.isArray(x) ? `${x[0]} ${cell(x[1])}→${cell(x[2])}`
                                                                           : x)).join(", ")
          + (d.counts[k] > d.changes[k].length ? ` … ${d.counts[k] - d.changes[k].length} more` : "") })));
  } catch (error) {
    say(error.message, true);
  }
}

async function tag() {
  const number = picked("diff-b"), name = $("tag-name").value.trim();
  try {
    await post("/api/tag", { table: `${state.table}@${number}`, tag: name, force: $("tag-force").checked });
    say(`tagged @${number} as ${name}`);
    await loadRevisions();
  } catch (error) {
    say(error.message, true);
  }
}

async function revert() {
  const number = picked("diff-b");
  try {
    const result = await post("/api/revert", { table: `${state.table}@${number}`,
                                               message: $("revert-message").value.trim() || undefined });
    say(result.changed ? `reverted: ${result.revision} has the content of @${number}` : `@${number} is the head`);
    emit("revisions-changed");
  } catch (error) {
    say(error.message, true);
  }
}

// ---- runs ---------------------------------------------------------------------------------------------------------
export async function loadRuns() {
  const { runs } = await api("/api/runs");
  $("runs-list").tBodies[0].replaceChildren(...runs.map((r, k) => el("tr", {},
    el("td", {}, el("input", { type: "checkbox", value: r.run, checked: k >= runs.length - 2, onchange: compareRuns,
                               ariaLabel: `compare ${r.run}` })),
    el("td", { textContent: r.run }), el("td", { textContent: r.status }), el("td", { textContent: r.trained_on || "" }),
    el("td", { textContent: r.model || "" }), el("td", { textContent: r.epochs ?? "" }),
    el("td", { textContent: r.best ? `${r.best.metric} ${cell(r.best.value)} @ ${r.best.epoch}` : "-" }))));
  await compareRuns();
}

function metricOf(epoch, metric) {
  const val = epoch.val || {};
  return metric && val[metric] !== undefined ? val[metric] : null;
}

async function compareRuns() {
  const chosen = [...document.querySelectorAll("#runs-list input:checked")].map((b) => b.value).slice(-2);
  const records = await Promise.all(chosen.map((r) => api(`/api/run?run=${encodeURIComponent(r)}`)));
  const keys = [...new Set(records.flatMap((r) => Object.keys(r.config)))].sort();
  const differing = keys.filter((k) => records.length < 2
    || JSON.stringify(records[0].config[k]) !== JSON.stringify(records[1].config[k]));
  $("runs-compare").replaceChildren(...records.map((r) => el("div", { className: "run-card" },
    el("h3", { textContent: `${r.run} · ${r.status} · ${r.inputs.dataset}/${r.inputs.table}@${r.inputs.revision}` }),
    el("div", { textContent: `best ${r.best ? `${r.best.metric} ${cell(r.best.value)} @ epoch ${r.best.epoch}` : "-"}` }),
    lineChart([{ name: "train loss", colour: "#ff7f0e", points: r.epochs.map((e) => [e.epoch, e.train_loss]) },
               { name: "val loss", colour: "#1f77b4", points: r.epochs.map((e) => [e.epoch, e.val_loss ?? null]) }],
              { xLabel: "epoch" }),
    lineChart([{ name: `val ${r.metric || "metric"}`, colour: "#2ca02c",
                 points: r.epochs.map((e) => [e.epoch, metricOf(e, r.metric)]) }], { xLabel: "epoch" }),
    el("table", { className: "small" }, ...differing.map((k) => el("tr", {}, el("td", { textContent: k }),
                                                             el("td", { textContent: JSON.stringify(r.config[k]) })))))));
}

// ---- compare: did the edit help? ---------------------------------------------------------------------------------
const signed = (x) => (x === null || x === undefined ? "n/a" : `${x >= 0 ? "+" : ""}${x.toFixed(4)}`);
const span = ([low, high]) => `[${signed(low)}, ${signed(high)}]`;

async function compareTicked() {
  const runs = [...document.querySelectorAll("#runs-list input:checked")].map((b) => b.value);
  if (runs.length < 2) { say("tick two runs or more: the first is the baseline", true); return; }
  $("compare-result").replaceChildren(el("p", { textContent: `comparing ${runs.join(", ")}…` }));
  try {
    const r = await api(`/api/compare?${new URLSearchParams({ runs: runs.join(","), split: $("compare-split").value })}`);
    $("compare-result").replaceChildren(...comparison(r));
  } catch (error) {
    $("compare-result").replaceChildren(el("p", { className: "error", textContent: error.message }));
  }
}

// The comparison as `curate compare` prints it, with every video and clip a click away from the viewer.
function comparison(r) {
  const show = (target) => emit("show-clip", { table: r.set.table, ...target });
  const link = (text, target) => el("button", { className: "link", textContent: text, onclick: () => show(target) });
  const out = [el("p", { className: "caption", textContent: `scored on ${r.set.clips} clips of ${r.set.videos} videos: `
    + `${r.set.why}; ${r.set.model}. ${r.metric}, ${Math.round(r.level * 100)}% intervals from ${r.samples} paired `
    + "bootstrap draws over videos (seeds resampled within a group)." }),
  el("table", { className: "small", id: "compare-groups" },
     el("tr", {}, ...["group", "runs", r.metric, "interval", "seeds"].map((h) => el("th", { textContent: h }))),
     ...r.groups.map((g) => el("tr", {}, el("td", { textContent: g.name }), el("td", { textContent: g.runs.join(", ") }),
       el("td", { textContent: cell(g.value) }), el("td", { textContent: span(g.interval) }),
       el("td", { textContent: g.seed_sd === null ? "1" : `${g.runs.length}, sd ${cell(g.seed_sd)}` }))))];
  for (const d of r.differences) {
    out.push(el("h3", { className: "difference", textContent: `${d.b} − ${d.a}: ${signed(d.difference)} ${span(d.interval)}`
      + (d.p_b_better === null ? ` → inconclusive: seed variance ${d.seed_variance}`
        : ` P(better) ${d.p_b_better.toFixed(2)} → ${d.verdict}`) }));
    if (r.events) {
      for (const [key, m] of Object.entries(r.events.metrics)) {
        const e = m.differences.find((x) => x.b === d.b);
        if (e) out.push(el("div", { className: "caption", textContent: `${key}: ${signed(e.difference)} ${span(e.interval)}` }));
      }
    }
    out.push(el("div", { className: "caption", textContent: "per video, B − A in the truth's probability "
      + "(most worsened first):" }),
    el("div", { className: "moves" }, ...d.per_video.map(([video, x]) => link(`${video} ${signed(x)}`, { video }))),
    el("div", { className: "caption", textContent: "clips whose prediction moved most (truth's probability A → B):" }),
    el("div", { className: "moves" }, ...d.clips_changed.map(([id, a, b]) => link(`${id} ${cell(a)} → ${cell(b)}`,
                                                                                      { id }))));
  }
  for (const note of r.notes) out.push(el("p", { className: "note", textContent: `note: ${note}` }));
  return out;
}

export function initPanels() {
  $("compare-button").onclick = compareTicked;
  $("diff-button").onclick = showDiff;
  $("tag-button").onclick = tag;
  $("revert-button").onclick = revert;
}
