// The clip viewer: the clip's cached frames as a strip and as an animation at the video's frame rate, the
// video's timeline (the model's probability per clip, labels, alert and event times, and after predict-events the
// whole-video score curve with the predicted times; a click on it shows the clip nearest that time), the run's
// proposed move of the video's labelled time (accepting it stages a retime), previous/next clip, and the clip's
// loss and probability across the run's epochs.
import { $, api, cell, chartX, el, emit, frameUrl, lineChart, on, ref, say, state } from "./core.js";
import { stage } from "./edits.js";

const viewer = { clip: null, timer: null, shownAt: 0, urls: [], k: 0 };

export async function showClip(target) {
  const params = new URLSearchParams({ table: ref(), ...target });
  if (state.run) params.set("run", state.run);
  try {
    draw(await api(`/api/clip?${params}`));
  } catch (error) {
    say(error.message, true);
  }
}

function draw(view) {
  viewer.clip = view;
  const row = view.clip;
  const urls = view.frames.map((id) => frameUrl(view.dataset, id));
  const metric = (name) => (row[name] !== undefined && row[name] !== null ? ` · ${name} ${cell(row[name])}` : "");
  $("clip-empty").hidden = true;
  $("clip-shown").hidden = false;
  $("clip-title").textContent = `${row.clip_id} · video ${row.video_id} · ${row.split} · label ${cell(row.label)}`
    + ` · weight ${cell(row.weight)}${metric("eval_prob")}${metric("eval_loss")}${metric("aum")}`;
  $("clip-plain").textContent = view.plain;
  $("strip").replaceChildren(...urls.map((src) => el("img", { src, alt: "" })));
  Object.assign(viewer, { urls, k: 0 });
  $("clip-frame").src = urls[0];
  clearInterval(viewer.timer);
  viewer.timer = null;
  togglePlay();
  $("clip-prev").disabled = !view.previous;
  $("clip-next").disabled = !view.next;
  const marks = view.marks.map((m) => ({ x: m.t, name: m.name }))
    .concat([{ x: row.end_time_s, name: "this clip", colour: "#1565c0" }]);
  const series = [{ name: "label", colour: "#999", points: view.timeline.map((c) => [c.t, c.label]) }];
  if (view.prob_column) {
    series.push({ name: view.prob_column, colour: "#d62728", points: view.timeline.map((c) => [c.t, c.prob]) });
  }
  if (view.events) {  // `curate predict-events` scanned the whole video: its score curve and predicted times
    series.push({ name: "whole-video score", colour: "#6a3d9a", points: view.events.curve });
    for (const t of view.events.predicted) marks.push({ x: t, name: "predicted", colour: "#f46d43" });
  }
  if (view.retime) marks.push({ x: view.retime.new, name: "suggested", colour: "#1b7837" });
  const chart = lineChart(series, { xLabel: "s", marks, yRange: [0, 1] });
  chart.classList.add("seekable");
  chart.onclick = (event) => seek(view, chartX(chart, event.clientX));  // the clip nearest the time clicked
  $("timeline").replaceChildren(el("div", { className: "caption",
    textContent: `video ${row.video_id}: ${view.timeline.length} clips over ${cell(view.duration_s)} s`
      + (view.events ? ` · predicted events ${view.events.predicted.map((t) => cell(t)).join(", ") || "none"}`
        : "") + " · click a time to see its clip" }), chart, ...retimeProposal(view.retime));
  $("dynamics").replaceChildren(...(view.epochs.length ? [
    el("div", { className: "caption", textContent: "this clip across epochs (mean of its draws)" }),
    lineChart([{ name: "loss", colour: "#ff7f0e", points: view.epochs.map((e) => [e.epoch, e.loss]) },
               { name: "prob", colour: "#1f77b4", points: view.epochs.map((e) => [e.epoch, e.prob]) }],
              { xLabel: "epoch" })] : [el("div", { className: "caption",
    textContent: state.run ? "not drawn in training (no dynamics)" : "pick a run to see its dynamics" })]));
}

// The run's timing signal for this video: its evidence and a button that stages the move in the change set.
function retimeProposal(retime) {
  if (!retime) return [];
  const accept = el("button", { id: "accept-retime", textContent: `accept: move ${cell(retime.old)} s → `
    + `${cell(retime.new)} s` });
  accept.onclick = () => {
    stage("retime", retime.value, "video", [retime.video_id], "timeline");
    accept.disabled = true;
  };
  return [el("div", { className: "retime" }, el("span", { className: "caption",
    textContent: `suggested retime of video ${retime.video_id}: ${retime.reason} ` }), accept)];
}

// Space: the clip's animation stops on its frame, or goes on from there.
export function togglePlay() {
  if (!viewer.clip) return;
  if (viewer.timer) { clearInterval(viewer.timer); viewer.timer = null; return; }
  viewer.timer = setInterval(() => {
    viewer.k = (viewer.k + 1) % viewer.urls.length;
    $("clip-frame").src = viewer.urls[viewer.k];
  }, 1000 * viewer.clip.frame_step_s);
}

// The clips nearest this one in the run's embedding, selected: the samples show them ("selected only").
async function neighbours() {
  if (!viewer.clip || !state.run) { say("pick a run and a clip first: neighbours come from its embedding", true); return; }
  try {
    const id = viewer.clip.clip.clip_id;
    const found = await api(`/api/neighbours?${new URLSearchParams({ table: ref(), run: state.run, id })}`);
    state.selected = new Set([id, ...found.neighbours.map((n) => n.id)]);
    state.selectedVideos.clear();
    say(`${found.neighbours.length} nearest clips of ${id} in ${found.run}'s embedding selected (it among them)`);
    emit("selection", "neighbours");
  } catch (error) {
    say(error.message, true);
  }
}

function seek(view, t) {
  const nearest = view.timeline.reduce((best, c) => (Math.abs(c.t - t) < Math.abs(best.t - t) ? c : best));
  if (nearest.id !== view.clip.clip_id) showClip({ table: view.table, id: nearest.id });
}

// Nothing to show (a suggestion on a video that could not be read): the empty state, saying why.
function showNothing(why) {
  viewer.clip = null;
  clearInterval(viewer.timer);
  viewer.timer = null;
  $("clip-shown").hidden = true;
  $("clip-empty").hidden = false;
  $("clip-empty").textContent = why;
}

export function initViewer() {
  on("show-clip", showClip);
  on("show-nothing", showNothing);
  // the clip's own revision: a suggestion or a comparison may show one of another revision than the page's
  $("clip-prev").onclick = () => viewer.clip?.previous && showClip({ table: viewer.clip.table, id: viewer.clip.previous });
  $("clip-next").onclick = () => viewer.clip?.next && showClip({ table: viewer.clip.table, id: viewer.clip.next });
  $("clip-neighbours").onclick = () => neighbours();
  $("clip-select").onclick = () => {
    if (!viewer.clip) return;
    state.selected.add(viewer.clip.clip.clip_id);
    emit("selection", "viewer");
  };
}
