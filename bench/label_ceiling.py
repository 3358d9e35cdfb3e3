"""How well can a model that was never taught the wrong labels find them? A diagnostic for issue 41's detection
goals: each draw's train videos (their written labels) scored by the clean runs of the other draws of the same
bench/label_noise.py work folder, against suggest's default on the draw's own noisy runs.

    uv run python bench/label_ceiling.py /tmp/curate-noise-actions-cc-e5 [/tmp/curate-noise-actions-inst-e5]

Per draw: each clean model's disagreement (its preferred class is not the written label), the ensemble's
(class probabilities averaged over the other draws' clean runs), and the ensemble's margin for the written label at
the cut-off with the best F1 on that draw (chosen with the truth: a ceiling, not a method). Chooses nothing.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from curation.review.suggest import suggest
from curation.synth import load_truth
from curation.synth_views import checked_val
from curation.train.predict import load_predictor
from curation.workspace import Workspace
from label_noise import completed_run, run_settings, scores


def clean_runs(ws, settings: dict, seeds: int) -> list[str]:
    return [r for s in range(seeds) if (r := completed_run(ws, f"clean-s{s}", "clean/clips@1", settings))]


def video_probabilities(ws_model, run: str, ws_data, revision, train: pd.DataFrame) -> pd.DataFrame:
    """The run's class probabilities for each train video of `revision` (another workspace's table): the mean
    of its clips' softmax, in the run's class order; binary (a video's label is its highest clip label: a Nexar
    positive's clips before the alert are negative), its most positive clip's."""
    predictor, _, _ = load_predictor(ws_model, run, "best", progress=False)
    dataset = predictor.dataset(ws_data, revision, where=pc.field("split") == "train")
    out = predictor.predict(dataset, desc=run)
    probs = pd.DataFrame(np.stack(out["probs"]), index=[dataset.clip_ids[i] for i in out["index"]])
    per_video = probs.join(train.set_index("clip_id")["video_id"]).groupby("video_id")
    if probs.shape[1] > 2:
        return per_video.mean()
    positive = per_video[1].max()
    return pd.DataFrame({0: 1 - positive, 1: positive})


def best_cutoff(margin: pd.Series, wrong: set[str]) -> tuple[float, tuple]:
    """The cut-off on `margin` (flag at or below it) with the best F1 against `wrong`: a ceiling."""
    best = (-1.0, None)
    for cut in np.unique(margin.to_numpy()):
        found = scores(set(margin.index[margin <= cut]), wrong)
        if found[2] > best[0]:
            best = (found[2], (float(cut), found))
    return best[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdirs", nargs="+", help="bench/label_noise.py work folders")
    ap.add_argument("--seeds", type=int, default=5, help="clean runs a draw")
    ap.add_argument("--out", help="also write the figures as JSON here")
    a = ap.parse_args()
    figures = {}
    for work in map(Path, a.workdirs):
        config = SimpleNamespace(**json.loads((work / "config.json").read_text()))
        # config.json names the last invocation's draws; the folder holds every draw made
        draws = sorted(int(p.name[4:]) for p in work.glob("draw*") if (p / "ws").exists())
        settings = run_settings(config)
        spaces = {d: Workspace.open(work / f"draw{d}" / "ws", backend="lance") for d in draws}
        models = {d: clean_runs(spaces[d], settings, a.seeds) for d in draws}
        rows = {k: [] for k in ("one clean model", "clean ensemble", "ensemble, best cut-off (ceiling)",
                                "suggest's default (noisy runs)")}
        print(f"{work.name}: {config.noise_model} noise, draws {draws}", flush=True)
        for d in draws:
            start = time.time()
            ws = spaces[d]
            revision = ws.resolve("noisy/clips@1")
            train = ws.tables.read(revision, ["clip_id", "video_id", "split", "label"]).filter(
                pc.field("split") == "train").to_pandas()
            label = train.groupby("video_id")["label"].max().dropna().astype(int)
            wrong = set(load_truth(work / f"draw{d}" / "data")["flipped"]) - checked_val(
                work / f"draw{d}" / "data", config.val, d)
            per_model = []
            for other in (o for o in draws if o != d):
                for run in models[other]:
                    probs = video_probabilities(spaces[other], run, ws, revision, train).loc[label.index]
                    per_model.append(probs)
                    rows["one clean model"].append(
                        scores(set(label.index[probs.to_numpy().argmax(1) != label.to_numpy()]), wrong))
            ensemble = sum(per_model) / len(per_model)
            p = ensemble.to_numpy()
            rows["clean ensemble"].append(scores(set(label.index[p.argmax(1) != label.to_numpy()]), wrong))
            own = p[np.arange(len(p)), label.to_numpy()]
            others = np.where(np.eye(p.shape[1], dtype=bool)[label.to_numpy()], -np.inf, p).max(1)
            cut, found = best_cutoff(pd.Series(own - others, index=label.index), wrong)
            rows["ensemble, best cut-off (ceiling)"].append(found)
            for seed in range(a.seeds):
                noisy = completed_run(ws, f"noisy-s{seed}", "noisy/clips@1", settings)
                flagged = {s.video or s.id for s in suggest(ws, noisy) if s.signal == "label issue"}
                rows["suggest's default (noisy runs)"].append(scores(flagged, wrong))
            this_draw = {"one clean model": len(per_model), "suggest's default (noisy runs)": a.seeds}
            print(f"  draw {d}: {len(wrong)} wrong of {len(label)} train videos; {len(per_model)} clean models; "
                  + "; ".join(f"{k} F1 {np.mean([r[2] for r in v[-this_draw.get(k, 1):]]):.3f}"
                              for k, v in rows.items())
                  + f"; best cut-off {cut:+.3f} ({time.time() - start:.0f} s)", flush=True)
        print(f"\n{'detector':<36} {'flagged':>8} {'P':>6} {'R':>6} {'F1':>6}   (mean over draws and runs)")
        for name, found in rows.items():
            p, r, f1, n = (np.mean(x) for x in zip(*found))
            print(f"{name:<36} {n:8.1f} {p:6.3f} {r:6.3f} {f1:6.3f}")
        print(flush=True)
        figures[work.name] = rows
    if a.out:
        Path(a.out).write_text(json.dumps(figures, indent=1, default=float))


if __name__ == "__main__":
    main()
