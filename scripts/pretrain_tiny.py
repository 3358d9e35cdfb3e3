"""Make the tiny model's pretrained starting point, `curation/models/weights/mvit_tiny_synth.pt`.

Real users start MViTv2-S from Kinetics-400 weights; the CPU-sized `mvit_tiny` has none, and from random
initialisation it sits at the class prior for thousands of draws (bench/README.md, recipe.py). This script trains
it once, from random initialisation, on clean labels, and keeps the backbone (the head starts new when the
weights are loaded). Two tasks:

- `--task motion` (the packaged file): a generic task that is neither world's decision, on clips rendered on the
  fly by `curation.synth_pretrain` (random backgrounds, one object, no road, no vehicle, no action class). Stage
  one learns which way the object travels (up, down, toward, away) on mildly busy backgrounds; stage two, from
  it, learns three attributes at once — its motion (those four, spin, orbit, shake, pulse), its shape (six) and its
  pattern (plain, striped, marked) — with each clip's nuisance drawn from none to the action world's full; stage
  three, from it, learns the same three and also how fast the motion runs (its cycles a second, a regression),
  its new head fitted alone first (bench/README.md, session 13 of issue 41). `--stages 2` stops after stage two
  (the file packaged before session 14 of issue 41); `--resume-from FILE` starts stage three from that file
  (checked by its sha256; `git show 9d919ce:curation/models/weights/mvit_tiny_synth.pt`), which is what the same
  seeds give from scratch: about 15 minutes on one core instead of 70.
- `--task horizon` (the file packaged before issue 41, kept to reproduce its figures): the Nexar generator on
  seeds 1000+ with another label rule than the demo's (`horizon:1`). Nearly the Nexar world's own decision.

Deterministic on CPU (one thread, fixed seeds, workers=0): rerun it and compare the printed sha256 with
TINY_WEIGHTS_SHA256 in curation/models/mvit.py.

    uv run python scripts/pretrain_tiny.py [--task motion|horizon] [--workdir /tmp/curate-pretrain]
        [--out curation/models/weights/mvit_tiny_synth.pt] [--steps-scale 1.0] [--stages 3] [--resume-from FILE]

About 70 minutes (motion) on one core, or 9 minutes (horizon) on 2 cores.
"""
from __future__ import annotations

import argparse
import io
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from curation.fsutil import atomic_write_bytes, sha256_file
from curation.frames.cache import cache_size_for
from curation.ingest.clips import ClipConfig
from curation.ingest.layouts import read_nexar
from curation.ingest.pipeline import IngestOptions, ingest
from curation.models.mvit import MODELS, TINY_WEIGHTS, build_model
from curation.synth import generate
from curation.synth_pretrain import HEADINGS, MOTIONS, attribute_heads, clip_batch
from curation.train.config import TrainConfig
from curation.train.loop import lr_schedule, train
from curation.workspace import Workspace

PRETRAIN_SEED = 1000  # generator and training seeds no demo, test or benchmark uses (they use 0-999)
# --task horizon: the pipeline's own training on ingested videos
HORIZON = dict(model="mvit_tiny", weights="none", epochs=8, draws_per_epoch=1500, batch_size=8, lr=5e-4,
               warmup=0.05, balance=True, workers=0, seed=PRETRAIN_SEED)
# --task motion: three stages on rendered clips, each starting from the one before's backbone. The third has the
# motion's rate as one more output, its own torch seed and stream of clips (so that it can start from the second's
# file, --resume-from, and give what a run from scratch gives), and its new head is fitted alone first (`head_steps`).
STAGES = ({"name": "heading", "motions": HEADINGS, "nuisance": 0.2, "steps": 6000, "lr": 5e-4},
          {"name": "attributes", "motions": MOTIONS, "nuisance": None, "steps": 20000, "lr": 1e-3},
          {"name": "rate", "motions": MOTIONS, "nuisance": None, "steps": 4000, "lr": 2e-4, "rate": True,
           "seed": PRETRAIN_SEED + 3, "stream": 3, "head_steps": 1000})
# the file the first two stages make (the start packaged before): where --resume-from starts stage three
STAGE_TWO_SHA256 = "7cb10722c093ea0c96e2d23cd3efbc429f2b8b3a6a670a1ef9e8adcf284e07ea"
BATCH, WARMUP, WEIGHT_DECAY, GRAD_CLIP, VAL_CLIPS, THREADS = 8, 0.05, 0.05, 1.0, 256, 1
HEAD_LR = 1e-3  # a stage's new head fitted alone (`head_steps`)


def pretrain_horizon(work: Path) -> tuple[dict, dict]:
    """The Nexar generator's videos under label rule horizon:1, trained by the pipeline; the best epoch's backbone."""
    ws = Workspace.open(work / "ws", backend="lance")
    generate(work / "data", n_train=200, n_test=4, width=160, height=96, duration_s=8.0, label_noise=0.0,
             n_duplicates=0, n_corrupt=0, seed=PRETRAIN_SEED, progress=True)
    ingest(ws, read_nexar(work / "data"), "pretrain",
           IngestOptions(clip=ClipConfig(), label_rule="horizon:1", val_fraction=0.15, seed=PRETRAIN_SEED,
                         frame_size=cache_size_for(MODELS["mvit_tiny"].input_size)), progress=True)
    run = train(ws, TrainConfig(table="pretrain/clips@1", name="pretrain", **HORIZON))
    record = ws.runs.record(run)
    model = torch.load(io.BytesIO(ws.runs.read_file(run, "best.pt")), map_location="cpu", weights_only=False)["model"]
    backbone = {k.removeprefix("backbone."): v for k, v in model.items() if k.startswith("backbone.")}
    # the keys of the file packaged before issue 41, so that its sha256 is reproduced
    return backbone, {"recipe": HORIZON, "label_rule": "horizon:1", "generator_seed": PRETRAIN_SEED, "videos": 200,
                      "best": record.best}


def accuracies(model, heads: dict[str, int], rate: bool, val) -> dict[str, float]:
    """Each head's val accuracy; with a rate output (the last), its correlation with the clips' rates."""
    model.eval()
    x, labels = val
    with torch.no_grad():
        logits = torch.cat([model(x[i:i + 32])[0] for i in range(0, len(x), 32)])
    out, at = {}, 0
    for name, n in heads.items():
        out[name] = round(float((logits[:, at:at + n].argmax(1) == labels[name]).float().mean()), 4)
        at += n
    if rate:
        out["rate_r"] = round(float(np.corrcoef(logits[:, at].numpy(), labels["rate"].numpy())[0, 1]), 4)
    return out


def stage_loss(logits: torch.Tensor, labels: dict, heads: dict[str, int], rate: bool) -> torch.Tensor:
    """The summed cross-entropy of the heads, and with a rate output (the last) its squared error."""
    at, loss = 0, 0.0
    for name, n in heads.items():
        loss = loss + F.cross_entropy(logits[:, at:at + n], labels[name])
        at += n
    return loss + F.mse_loss(logits[:, at], labels["rate"]) if rate else loss


def fit_head(model, steps: int, stage: dict, heads: dict[str, int], rate: bool, stream) -> None:
    """The new head alone on the backbone as it is (linear probing before fine-tuning): a random head's first
    gradients would otherwise reach the backbone and undo some of what the earlier stages taught."""
    opt = torch.optim.AdamW(model.head.parameters(), lr=HEAD_LR, weight_decay=WEIGHT_DECAY)
    model.train()
    for _ in range(steps):
        x, labels = clip_batch(stream, BATCH, stage["motions"], stage["nuisance"])
        with torch.no_grad():
            features = model.backbone(x)
        loss = stage_loss(model.head(features), labels, heads, rate)
        opt.zero_grad()
        loss.backward()
        opt.step()


def run_stage(stage: dict, backbone: dict | None, steps_scale: float) -> tuple[dict, list[dict]]:
    """Train one stage on a stream of fresh clips: AdamW, linear warmup then cosine decay, the summed cross-entropy
    of its heads (and a rate stage's squared error of the rate, one more output); a stage with `head_steps` fits
    its new head alone first. Returns the backbone and the val accuracies measured every tenth of the stage."""
    if "seed" in stage:
        torch.manual_seed(stage["seed"])
    heads, rate = attribute_heads(stage["motions"]), bool(stage.get("rate"))
    # the packaged file was made before channels-last pooling, whose backward sums in another order
    model, _, _ = build_model("mvit_tiny", sum(heads.values()) + rate, weights="none", notice=lambda *_: None,
                              channels_last_pooling=False)
    if backbone is not None:
        model.backbone.load_state_dict(backbone)
    steps = max(10, int(stage["steps"] * steps_scale))
    val = clip_batch(np.random.default_rng([PRETRAIN_SEED, 1]), VAL_CLIPS, stage["motions"], stage["nuisance"])
    stream = np.random.default_rng([PRETRAIN_SEED, stage.get("stream", 2)])  # the third stage's clips are new
    started = time.time()
    if stage.get("head_steps"):
        fit_head(model, max(1, int(stage["head_steps"] * steps_scale)), stage, heads, rate, stream)
        print(f"{stage['name']} head alone: {accuracies(model, heads, rate, val)} ({time.time() - started:.0f} s)",
              flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=stage["lr"], weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_schedule(steps, WARMUP))
    history, losses = [], []
    for step in range(1, steps + 1):
        model.train()
        x, labels = clip_batch(stream, BATCH, stage["motions"], stage["nuisance"])
        loss = stage_loss(model(x)[0], labels, heads, rate)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if step % max(1, steps // 10) == 0 or step == steps:
            history.append({"step": step, "train_loss": round(float(np.mean(losses[-200:])), 4),
                            "val_accuracy": accuracies(model, heads, rate, val)})
            print(f"{stage['name']} {step}/{steps}: {history[-1]} ({time.time() - started:.0f} s)", flush=True)
    return model.backbone.state_dict(), history


def stage_two(path: Path, steps_scale: float) -> tuple[dict, dict]:
    """The backbone and histories of the first two stages, from the file they made (checked by its sha256)."""
    if sha256_file(path) != STAGE_TWO_SHA256 or steps_scale != 1.0:
        raise SystemExit(f"{path} is not the file the first two stages make (sha256 {STAGE_TWO_SHA256}) or "
                         "--steps-scale is not 1: leave --resume-from out to run every stage")
    made = torch.load(path, map_location="cpu", weights_only=False)
    return made["state_dict"], made["history"]


def pretrain_motion(steps_scale: float, n_stages: int, resume_from: Path | None) -> tuple[dict, dict]:
    torch.manual_seed(PRETRAIN_SEED)
    torch.set_num_threads(THREADS)  # the same sums in the same order on every rerun
    stages = STAGES[:n_stages]
    backbone, histories = stage_two(resume_from, steps_scale) if resume_from else (None, {})
    for stage in stages[len(histories):]:
        backbone, histories[stage["name"]] = run_stage(stage, backbone, steps_scale)
    # the words each packaged file was made with, so that its sha256 is reproduced
    task = "generic motion, shape and pattern of one object on random backgrounds (curation.synth_pretrain)"
    return backbone, {"task": task + (", then also its rate" if n_stages == 3 else ""),
                      "stages": [{**st, "motions": list(st["motions"])} for st in stages],
                      "steps_scale": steps_scale, "batch": BATCH, "seed": PRETRAIN_SEED, "history": histories}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=["motion", "horizon"], default="motion")
    ap.add_argument("--workdir", default="/tmp/curate-pretrain", help="horizon's videos and workspace")
    ap.add_argument("--out", default=str(TINY_WEIGHTS))
    ap.add_argument("--steps-scale", type=float, default=1.0,
                    help="motion: scale every stage's steps (below 1 for a quick, weaker start in experiments)")
    ap.add_argument("--stages", type=int, choices=[2, 3], default=3, help="motion: stop after stage two (the start "
                    "packaged before the rate stage) [3]")
    ap.add_argument("--resume-from", type=Path, help="motion: start at stage three from the file the first two make "
                    "(the start packaged before it)")
    args = ap.parse_args()
    started = time.time()
    if args.task == "horizon":
        work = Path(args.workdir)
        shutil.rmtree(work, ignore_errors=True)
        backbone, what = pretrain_horizon(work)
    else:
        if args.resume_from and args.stages != 3:
            ap.error("--resume-from starts stage three: leave --stages 2 out")
        backbone, what = pretrain_motion(args.steps_scale, args.stages, args.resume_from)
    buf = io.BytesIO()
    torch.save({"state_dict": backbone, "model": "mvit_tiny", **what}, buf)
    atomic_write_bytes(Path(args.out), buf.getvalue())
    print(f"{args.out}: {Path(args.out).stat().st_size / 1e6:.2f} MB, sha256 {sha256_file(Path(args.out))}; "
          f"{(time.time() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
