"""`curate report --table`: one self-contained HTML page to inspect the samples a table revision holds — how
many per split and label, each video's timeline (its events, and where its positive and negative clips end),
and frame strips of clips of every label."""
from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from curation.fsutil import write_output
from curation.frames.cache import FrameReader
from curation.review.report import _strip
from curation.task import VIDEOS

COLOURS = ["#9e9e9e", "#2e7d32", "#1565c0", "#ef6c00", "#6a1b9a", "#c62828"]  # by label; events are red


def write_table_report(ws, ref: str, out: str | Path | None = None, per_label: int = 12) -> str:
    revision = ws.resolve(ref)
    task = ws.task(revision.dataset)
    clips = ws.tables.read(revision).to_pylist()
    videos = {v["video_id"]: v for v in ws.tables.read(task.head(ws.tables, VIDEOS)).to_pylist()}
    classes = list(task.classes)
    name = lambda label: "unlabelled" if label is None else classes[label] if label < len(classes) else str(label)
    counts: dict[tuple, int] = {}
    for c in clips:
        counts[c["split"], name(c["label"])] = counts.get((c["split"], name(c["label"])), 0) + 1
    splits, labels = sorted({s for s, _ in counts}), sorted({n for _, n in counts})
    table = "<tr><th></th>" + "".join(f"<th>{html.escape(n)}</th>" for n in labels) + "</tr>" + "".join(
        f"<tr><th>{html.escape(s)}</th>" + "".join(f"<td>{counts.get((s, n), 0)}</td>" for n in labels) + "</tr>"
        for s in splits)
    by_video: dict[str, list[dict]] = {}
    for c in clips:
        by_video.setdefault(c["video_id"], []).append(c)
    timelines = "".join(_timeline(vid, videos[vid], by_video[vid]) for vid in sorted(by_video))
    reader = FrameReader(ws.cache(revision.dataset))
    strips = []
    for label in sorted({c["label"] for c in clips}, key=lambda x: (x is None, x)):
        members = [c for c in clips if c["label"] == label]
        picked = [members[int(i)] for i in np.unique(np.linspace(0, len(members) - 1, min(per_label, len(members)))
                                                     .round().astype(int))]
        cards = "".join(
            f"<tr><td><code>{html.escape(c['clip_id'])}</code><br>{c['end_time_s']:.2f} s"
            + (f", {c['time_to_event_s']:+.2f} s to the nearest event" if c["time_to_event_s"] is not None else "")
            + f"</td><td>{_image(reader, c)}</td></tr>" for c in picked)
        strips.append(f"<h3>{html.escape(name(label))} ({len(members)} clips; {len(picked)} shown)</h3>"
                      f"<table>{cards}</table>")
    legend = " ".join(f'<span style="color:{COLOURS[i % len(COLOURS)]}">● {html.escape(c)}</span>'
                      for i, c in enumerate(classes)) + ' <span style="color:#d32f2f">| event</span>'
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(revision.ref)}</title><style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#222}} table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:middle}}
svg{{display:block}} code{{font-size:90%}}</style></head><body>
<h1>Samples of {html.escape(revision.ref)}</h1>
<p>{len(clips)} clips of {len(by_video)} videos, {html.escape(task.layout)} layout. Clips per split and label:</p>
<table>{table}</table>
<h2>Timelines</h2><p>Each bar is a video; a dot marks where a clip ends, coloured by its label. {legend}</p>
<table>{timelines}</table>
<h2>Frame strips</h2><p>Evenly spaced frames of each clip, oldest first.</p>{''.join(strips)}
</body></html>"""
    if out:
        return str(write_output(out, page.encode()))
    key = f"reports/{revision.dataset}-{revision.table}@{revision.number}.html"
    ws.storage.write_bytes(key, page.encode())
    return ws.storage.uri(key)


def _timeline(video_id: str, video: dict, clips: list[dict], width: int = 640) -> str:
    duration = video.get("duration_s") or max(c["end_time_s"] for c in clips) or 1.0
    x = lambda t: 4 + (width - 8) * min(max(t / duration, 0.0), 1.0)
    marks = [f'<line x1="{x(e):.1f}" x2="{x(e):.1f}" y1="2" y2="22" stroke="#d32f2f" stroke-width="2"/>'
             for e in json.loads(video.get("events") or "[]")]
    marks += [f'<circle cx="{x(c["end_time_s"]):.1f}" cy="12" r="3" fill="{COLOURS[(c["label"] or 0) % len(COLOURS)]}"'
              f' opacity="{1 if c["label"] is not None else 0.3}"><title>{html.escape(c["clip_id"])}</title></circle>'
              for c in clips]
    svg = (f'<svg width="{width}" height="24"><rect x="4" y="10" width="{width - 8}" height="4" fill="#eee"/>'
           + "".join(marks) + "</svg>")
    return (f"<tr><td><code>{html.escape(video_id)}</code><br>{html.escape(str(video.get('split')))}, "
            f"{duration:.1f} s</td><td>{svg}</td></tr>")


def _image(reader: FrameReader, clip: dict) -> str:
    strip = _strip(reader, clip["video_id"], clip["end_frame"], clip["stride"], clip["n_frames"])
    return f'<img src="{strip}">' if strip else "(frames not cached)"
