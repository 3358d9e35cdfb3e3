"""A static HTML page of a run's event predictions, one timeline per video, for users without the dashboard (what
the split-timer project inspected): the score curve over the whole video, the threshold, the labelled event times
(and Nexar's alert time), the predicted ones, and per split the event metrics. Inline SVG, no script."""
from __future__ import annotations

import html


WIDTH, HEIGHT, PAD = 720, 90, 4


def _x(t: float, duration: float) -> float:
    return PAD + (WIDTH - 2 * PAD) * t / max(duration, 1e-9)


def _y(score: float) -> float:
    return PAD + (HEIGHT - 2 * PAD) * (1 - score)


def _timeline(times, scores, duration: float, threshold: float, labelled: list[float], predicted: list[float],
              alert: float | None) -> str:
    points = " ".join(f"{_x(t, duration):.1f},{_y(s):.1f}" for t, s in zip(times, scores))
    marks = [f'<line class="threshold" x1="{PAD}" x2="{WIDTH - PAD}" y1="{_y(threshold):.1f}" '
             f'y2="{_y(threshold):.1f}"/>']
    marks += [f'<line class="labelled" x1="{_x(t, duration):.1f}" x2="{_x(t, duration):.1f}" y1="0" '
              f'y2="{HEIGHT}"><title>labelled {t:.2f} s</title></line>' for t in labelled]
    marks += [f'<line class="predicted" x1="{_x(t, duration):.1f}" x2="{_x(t, duration):.1f}" y1="0" '
              f'y2="{HEIGHT}"><title>predicted {t:.2f} s</title></line>' for t in predicted]
    if alert is not None:
        marks.append(f'<line class="alert" x1="{_x(alert, duration):.1f}" x2="{_x(alert, duration):.1f}" y1="0" '
                     f'y2="{HEIGHT}"><title>alert {alert:.2f} s</title></line>')
    return (f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img">'
            f'<rect class="frame" x="0" y="0" width="{WIDTH}" height="{HEIGHT}"/>'
            f'<polyline class="curve" points="{points}"/>{"".join(marks)}</svg>')


def events_report(run: str, result: dict, curves: dict, videos: dict, layout) -> bytes:
    """`curves`: video_id → (times, scores); `videos`: video_id → its videos-table row; `result`: what
    predict_events records. Returns the page."""
    e = html.escape
    rows = []
    for video_id in sorted(curves):
        times, scores = curves[video_id]
        v = videos[video_id]
        labelled = layout.labelled_times(v) or []
        predicted = result["predicted"].get(video_id, [])
        duration = v.get("duration_s") or (float(times[-1]) if len(times) else 1.0)
        rows.append(f'<section class="video" data-video="{e(video_id)}"><h3>{e(video_id)} '
                    f'<small>{e(str(v.get("split") or ""))}</small></h3>'
                    f'<p>labelled {e(_seconds(labelled))} · predicted {e(_seconds(predicted))}</p>'
                    + _timeline(times, scores, duration, result["threshold"], labelled, predicted,
                                layout.alert_time(v)) + "</section>")
    metric_rows = "".join(
        f"<tr><td>{e(split)}</td>" + "".join(f"<td>{_cell(m.get(k))}</td>" for k in _COLUMNS) + "</tr>"
        for split, m in result["metrics"].items())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{e(run)}: event times</title><style>
body{{font:14px system-ui,sans-serif;margin:24px;color:#222}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}} section{{margin:14px 0}} h3{{margin:4px 0}}
.frame{{fill:#fafafa;stroke:#ddd}} .curve{{fill:none;stroke:#333;stroke-width:1.5}}
.threshold{{stroke:#999;stroke-dasharray:4 3}} .labelled{{stroke:#1a9850;stroke-width:2}}
.predicted{{stroke:#f46d43;stroke-width:2;stroke-dasharray:5 3}} .alert{{stroke:#4575b4;stroke-width:1.5}}
.key span{{margin-right:14px}}</style></head><body>
<h1>{e(run)}: event times on {e(result["table"])}</h1>
<p>{e(result["picked"])}. <span class="key"><span style="color:#1a9850">━ labelled</span>
<span style="color:#f46d43">┅ predicted</span><span style="color:#4575b4">━ alert</span>
<span style="color:#999">┅ threshold</span></span></p>
<table><tr><th>split</th>{"".join(f"<th>{e(c)}</th>" for c in _HEADERS)}</tr>{metric_rows}</table>
{"".join(rows)}
</body></html>"""
    return page.encode()


_COLUMNS = ("event_f1@0.25s", "event_f1@0.5s", "event_f1@1s", "event_precision@0.5s", "event_recall@0.5s",
            "event_mae_s", "alert_mae_s")
_HEADERS = ("F1 ±0.25 s", "F1 ±0.5 s", "F1 ±1 s", "precision ±0.5 s", "recall ±0.5 s", "MAE s", "alert MAE s")


def _seconds(times) -> str:
    return ", ".join(f"{t:.2f} s" for t in times) or "none"


def _cell(value) -> str:
    return "–" if value is None else f"{value:.3f}"
