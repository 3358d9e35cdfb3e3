"""`curate report`: one self-contained HTML page per run — curves, embedding maps, and frame strips of the
clips most worth a look (lowest area under the margin: the model keeps disagreeing with their label)."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from PIL import Image

from curation.fsutil import write_output
from curation.ingest.clips import frame_indices
from curation.frames.cache import FrameReader, frame_id
from curation.review.metrics import clip_metrics, join_metrics


def _png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _strip(reader: FrameReader, video_id: str, end_frame: int, stride: int, n_frames: int, show: int = 8) -> str:
    """`show` evenly spaced frames of a clip side by side, oldest first."""
    indices = frame_indices(end_frame, stride, n_frames)
    picked = [indices[int(k)] for k in np.linspace(0, len(indices) - 1, show)]
    ids = [frame_id(video_id, i) for i in picked]
    if not all(f in reader for f in ids):
        return ""
    frames = [Image.fromarray(rgb).resize((96, 96)) for rgb in reader.images(ids, min_side=96)]
    strip = Image.new("RGB", (96 * len(frames), 96))
    for k, frame in enumerate(frames):
        strip.paste(frame, (96 * k, 0))
    buf = io.BytesIO()
    strip.save(buf, format="PNG")
    return _png_data_uri(buf.getvalue())


def write_report(ws, run_ref: str, out: str | Path | None = None, worst: int = 24) -> str:
    """The page, written to `out`, else beside the run (report.html); returns where it went."""
    run = ws.runs.resolve(run_ref)
    record = ws.runs.record(run)
    revision = record.trained_on(ws.tables)
    classes = record.classes
    table = join_metrics(ws.tables.read(revision), clip_metrics(ws, run))
    table = table.filter(pc.field("split") == "train").filter(pc.field("aum").is_valid())
    rows = table.sort_by([("aum", "ascending")]).slice(0, worst).to_pylist()
    reader = FrameReader(ws.cache(revision.dataset))
    plots = [n for n in ws.runs.files(run, "plots") if n.endswith(".png")]
    images = "".join(f'<figure><img src="{_png_data_uri(ws.runs.read_file(run, f"plots/{n}"))}"><figcaption>'
                     f"{html.escape(n.removesuffix('.png'))}</figcaption></figure>" for n in plots)
    cards = []
    for r in rows:
        label = classes[r["label"]] if r["label"] is not None and 0 <= r["label"] < len(classes) else r["label"]
        strip = _strip(reader, r["video_id"], r["end_frame"], r["stride"], r["n_frames"])
        cards.append(
            f"<tr><td><code>{html.escape(r['clip_id'])}</code><br>video {html.escape(r['video_id'])}<br>"
            f"label <b>{html.escape(str(label))}</b><br>AUM {r['aum']:.2f} · loss {r['loss'] or float('nan'):.2f}"
            f" · p {r['prob'] or float('nan'):.2f} · weight {r['weight']:.2f}</td>"
            f"<td>{f'<img src={chr(34)}{strip}{chr(34)}>' if strip else '(frames not cached)'}</td></tr>")
    epochs = "".join(f"<tr><td>{e['epoch']}</td><td>{e['train_loss'] or float('nan'):.4f}</td>"
                     f"<td>{(e.get('val') or {}).get(record.metric, float('nan')):.4f}</td>"
                     f"<td>{e['seconds']:.0f}</td></tr>" for e in record.epochs)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(run)}</title><style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#222}} table{{border-collapse:collapse}}
td,th{{border-bottom:1px solid #ddd;padding:6px 10px;text-align:left;vertical-align:middle}}
figure{{display:inline-block;margin:0 12px 12px 0}} img{{max-width:100%}} code{{font-size:90%}}</style></head><body>
<h1>{html.escape(run)}</h1>
<p>Trained on <b>{html.escape(record.inputs.ref)}</b> ({html.escape(record.inputs.fingerprint)}), model
{html.escape(str(record.config.get('model')))}, status {html.escape(record.status)};
best {html.escape(str((record.best or {}).get('metric', '')))}
{record.best_value or float('nan'):.4f}.</p>
<h2>Epochs</h2><table><tr><th>epoch</th><th>train loss</th><th>{html.escape(record.metric)}</th>
<th>seconds</th></tr>{epochs}</table>
<h2>Curves and embedding maps</h2>{images}
<h2>{len(rows)} training clips with the lowest area under the margin</h2>
<p>The model kept disagreeing with these labels across epochs: likely label errors, or the hardest cases.
Frames are evenly spaced over each clip, oldest first.</p><table>{''.join(cards)}</table>
</body></html>"""
    if out:
        return str(write_output(out, page.encode()))
    ws.runs.write_file(run, "report.html", page.encode())
    return ws.runs.uri(run, "report.html")
