"""Label-issue detection by cut-off: noisy runs of bench/label_noise.py's actions setting on decision draws, and
suggest's label issues at each second-opinion cut-off against the generator's flips (issue 41).

uv run python bench/label_cutoff.py [--draws 106,107,108] [--seeds 3] [--cuts 1.75,2.0,2.25,2.5]
Runs are kept in --workdir and reused when their settings are the tables' (as bench/label_noise.py --reuse).
"""
import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from curation.demo import ACTIONS_DURATION_S, ACTIONS_NUISANCE
from curation.ingest.pipeline import ingest
from curation.review.suggest import label_issues
from curation.synth import load_truth
from curation.synth_views import checked_val, labelled_view
from curation.train.config import TrainConfig
from curation.train.loop import train
from curation.workspace import Workspace
from label_noise import TABLES_BUDGET, completed_run, cutoff_threshold, make_data, options, run_settings, scores


def noisy_runs(work: Path, draw: int, seeds: int, args) -> tuple[Workspace, list[str], set[str]]:
    """The draw's noisy dataset (`args.train` labelled videos of `args.world`, 20% wrong labels by
    `args.noise_model`, 25% checked val) and its noisy runs, made or reused; the wrong labels among the train
    videos."""
    if not (work / "data" / "ground_truth.json").exists():
        make_data(args.world, work / "data", args, draw, args.train, 0.2)
    ws = Workspace.open(work / "ws", backend="lance")
    val = checked_val(work / "data", 0.25, draw)
    if not ws.tables.exists("noisy", "clips"):
        ingest(ws, labelled_view(work / "data", val), "noisy", options(args, 0, draw), progress=False)
    runs = []
    for seed in range(seeds):
        run = completed_run(ws, f"noisy-s{seed}", "noisy/clips@1", run_settings(args))
        if run is None:
            start = time.time()
            config = TrainConfig(table="noisy/clips@1", name=f"noisy-s{seed}", seed=seed, **run_settings(args))
            run = train(ws, config, echo=lambda *a: None, progress=False)
            print(f"draw {draw} seed {seed}: {run} val {ws.runs.record(run).best_value:.4f} "
                  f"({time.time() - start:.0f} s)", flush=True)
        runs.append(run)
    return ws, runs, set(load_truth(work / "data")["flipped"]) - val


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", default="106,107,108", help="generator seeds (decision draws)")
    ap.add_argument("--seeds", type=int, default=3, help="noisy runs a draw")
    ap.add_argument("--cuts", default="1.75,2.0,2.25,2.5", help="second-opinion cut-offs (SECOND_OPINION_Z)")
    ap.add_argument("--workdir", default="/tmp/curate-label-cutoff")
    ap.add_argument("--out", help="also write the figures as JSON here")
    a = ap.parse_args()
    budget = TABLES_BUDGET["actions"]  # the tables' noisy arm: the demo's world, the tables' budget
    world = SimpleNamespace(world="actions", noise_model="class-conditional", classes=10, size="96x96", train=400,
                            duration=",".join(map(str, ACTIONS_DURATION_S)), nuisance=ACTIONS_NUISANCE,
                            weights="pretrained", epochs=budget["epochs"], draws=budget["draws_per_epoch"],
                            lr=budget["lr"], head="auto")
    cuts = [float(c) for c in a.cuts.split(",")]
    found = {c: [] for c in cuts}
    for draw in (int(d) for d in a.draws.split(",")):
        ws, runs, wrong = noisy_runs(Path(a.workdir) / f"draw{draw}", draw, a.seeds, world)
        for seed, run in enumerate(runs):
            for cut in cuts:
                p, r, f, n = scores({s.id for s in label_issues(ws, run, cutoff_threshold(cut))},
                                    wrong)
                found[cut].append({"draw": draw, "seed": seed, "flagged": n, "precision": p, "recall": r, "f1": f})
                print(f"  draw {draw} seed {seed} cut {cut}: flagged {n} P {p:.3f} R {r:.3f} F1 {f:.3f} "
                      f"(wrong {len(wrong)})", flush=True)
    print(f"\n{'cut-off':>8} {'flagged':>8} {'P':>6} {'R':>6} {'F1':>6}")
    for cut, rows in found.items():
        mean = {k: np.mean([r[k] for r in rows]) for k in ("flagged", "precision", "recall", "f1")}
        print(f"{cut:8.2f} {mean['flagged']:8.1f} {mean['precision']:6.3f} {mean['recall']:6.3f} {mean['f1']:6.3f}")
    if a.out:
        Path(a.out).write_text(json.dumps({str(c): rows for c, rows in found.items()}, indent=1))


if __name__ == "__main__":
    main()
