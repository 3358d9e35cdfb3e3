"""The demo over several synthetic seeds: does the loop it shows hold on every seed, or on a lucky one?

Each seed runs `curate demo --seed S` as a fresh process (imports included, as a user runs it) into its own
folder, then reads the figures the demo returns. One table: val mAP of each round, label-issue precision and
recall against the generator's flips, each round's test AP against the generator's labels, compare's verdict,
and minutes; then the acceptance of issue 25 over the seeds.

    uv run python bench/demo_seeds.py [--seeds 0,1,2,3,4] [--workdir /tmp/curate-demo-seeds]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FIGURES = """
import json, sys
from pathlib import Path
from curation.demo import run_demo
out = run_demo(Path(sys.argv[1]), seed=int(sys.argv[2]), echo=lambda *a: None)
r1, r2 = out["runs"]
flagged, injected, found = out["scores"]["label issue"]
print(json.dumps({"val": [out["best"][r1], out["best"][r2]], "test": [out["test_ap"][r1], out["test_ap"][r2]],
                  "flagged": flagged, "injected": injected, "found": found, "verdict": out["verdict"],
                  "learned": [out["learned"][r].learned for r in (r1, r2)],
                  "timings": out["timings"]}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--workdir", default="/tmp/curate-demo-seeds")
    args = ap.parse_args()
    work = Path(args.workdir)
    rows = []
    print(f"{'seed':>4} {'val mAP 1':>9} {'val mAP 2':>9} {'P':>5} {'R':>5} {'flagged':>7} {'test AP 1':>9} "
          f"{'test AP 2':>9} {'verdict':<20} {'minutes':>7}", flush=True)
    for seed in (int(s) for s in args.seeds.split(",")):
        folder = work / f"seed{seed}"
        shutil.rmtree(folder, ignore_errors=True)
        start = time.time()
        done = subprocess.run([sys.executable, "-c", FIGURES, str(folder), str(seed)], capture_output=True, text=True)
        minutes = (time.time() - start) / 60
        if done.returncode:
            print(f"seed {seed} failed:\n{done.stderr[-2000:]}", flush=True)
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        r.update(seed=seed, minutes=minutes, precision=r["found"] / r["flagged"] if r["flagged"] else 0.0,
                 recall=r["found"] / r["injected"] if r["injected"] else 0.0)
        rows.append(r)
        print(f"{seed:>4} {r['val'][0]:9.3f} {r['val'][1]:9.3f} {r['precision']:5.2f} {r['recall']:5.2f} "
              f"{r['flagged']:>7} {r['test'][0]:9.3f} {r['test'][1]:9.3f} {r['verdict']:<20} {minutes:7.2f}",
              flush=True)
    if not rows:
        return
    val1 = np.array([r["val"][0] for r in rows])
    gain = np.array([r["test"][1] - r["test"][0] for r in rows])
    p, rc = np.mean([r["precision"] for r in rows]), np.mean([r["recall"] for r in rows])
    misleading = [r["seed"] for r in rows if r["verdict"] == "better" and r["test"][1] < r["test"][0]]
    print(f"\nover {len(rows)} seeds: round 1 val mAP min {val1.min():.3f} (goal ≥ 0.80 on every seed); "
          f"label issues P {p:.2f} R {rc:.2f} (goal ≥ 0.6 each, mean); round 2 test AP ≥ round 1 on "
          f"{int((gain >= 0).sum())} of {len(rows)} seeds, mean difference {gain.mean():+.3f} (goal ≥ 4 of 5, mean > 0); "
          f"'better' while test AP fell: {misleading or 'never'}; minutes max {max(r['minutes'] for r in rows):.2f} "
          "(goal ≤ 5)")
    stages = {k: np.mean([r["timings"][k] for r in rows]) for k in rows[0]["timings"]}
    print("mean seconds per stage: " + ", ".join(f"{k} {v:.0f}" for k, v in stages.items()))


if __name__ == "__main__":
    main()
