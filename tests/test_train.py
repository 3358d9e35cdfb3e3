"""Training and runs on synthetic data with the tiny MViT, on CPU."""
import hashlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest
import torch

from conftest import assert_one_line_error, curate, free_port, tiny_synth
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.layouts import read_nexar
from curation.tables import Edit
from curation.errors import BadInput
from curation.fsutil import sha256_file
from curation.runs.learning import constant_loss, learning_check
from curation.train.config import TrainConfig
from curation.train.collect import collect
from curation.train.loop import train
from curation.workspace import Workspace

TINY = dict(model="mvit_tiny", weights="none", batch_size=4, workers=0, lr=1e-3)
REPO = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("train") / "d"
    return tiny_synth(root, seed=2)


def fresh_ws(tmp_path, data_root, root=None):
    ws = Workspace.open(root or tmp_path / "ws", backend="lance")
    ingest(ws, read_nexar(data_root), "nexar", IngestOptions(frame_size=64, val_fraction=0.25), progress=False)
    return ws


@pytest.mark.slow  # two epochs and the collection pass, end to end
def test_two_epoch_run_logs_every_draw_and_collects_every_clip(tmp_path, data_root):
    ws = fresh_ws(tmp_path, data_root)
    clips = ws.tables.read(ws.resolve("clips"))
    train_ids = clips.filter(pc.field("split") == "train")["clip_id"].to_pylist()
    deleted, zeroed = set(train_ids[:4]), set(train_ids[4:8])
    rev2 = ws.tables.edit("nexar", "clips", Edit(delete=deleted, weights={i: 0.0 for i in zeroed}), message="x")

    said = []
    run = train(ws, TrainConfig(table="clips@2", epochs=2, **TINY), echo=said.append, progress=False)
    info = ws.runs.record(run).to_dict()
    assert info["status"] == "completed"
    assert said[-1] == f"{run} {learning_check(ws.runs.record(run)).reason}"  # its last line: did it learn?
    assert info["inputs"]["revision"] == 2 and info["inputs"]["fingerprint"] == rev2.fingerprint
    live_train = [i for i in train_ids if i not in deleted | zeroed]
    dyn = ws.runs.dynamics(run)
    for epoch in (1, 2):
        rows = dyn.filter(pc.field("epoch") == epoch)
        assert rows.num_rows == len(live_train)  # one row per drawn sample (epoch = non-zero rows)
        assert set(rows["clip_id"].to_pylist()) <= set(live_train)  # nothing deleted or weight 0 drawn
    assert np.isfinite(dyn["loss"].to_numpy()).all()
    for e in info["epochs"]:  # what the learning check reads: chance on val, a constant guess's loss on the draws
        drawn = dyn.filter(pc.field("epoch") == e["epoch"])["label"].to_numpy()
        assert e["constant_loss"] == pytest.approx(constant_loss(drawn, 2)) and e["constant_loss"] > 0
        assert 0 < e["val_chance"] < 1

    revision_ids = set(ws.tables.read(ws.tables.revision("nexar", "clips", info["inputs"]["revision"]),
                                      ["clip_id"])["clip_id"].to_pylist())
    collected = ws.runs.collection(run, "clips@2")
    assert sorted(collected["clip_id"].to_pylist()) == sorted(revision_ids)  # train + val, joined by id
    assert not deleted & set(collected["clip_id"].to_pylist())
    assert collected.schema.field("embedding").type.list_size == 64
    assert str(collected.schema.field("embedding").type.value_type) == "halffloat"
    assert np.isfinite(collected["map_x"].to_numpy()).all() and collected["map_x"].to_numpy().std() > 0
    test = ws.runs.collection(run, "test@1")
    assert sorted(test["clip_id"].to_pylist()) == sorted(ws.tables.read(ws.resolve("test"))["clip_id"].to_pylist())
    assert np.isnan(test["loss"].to_numpy(zero_copy_only=False)).all()  # unlabelled

    for name in ("last", "best"):
        ck = info["checkpoints"][name]
        assert hashlib.sha256(ws.runs.read_file(run, ck["file"])).hexdigest() == ck["sha256"]
    assert [e["epoch"] for e in info["epochs"]] == [1, 2] and "mAP" in info["epochs"][0]["val"]
    assert info["inference_ms_per_clip"] > 0
    for plot in ("curves.png", "map_label.png", "map_loss.png"):
        assert len(ws.runs.read_file(run, f"plots/{plot}")) > 1000

    # `curate collect`: the last checkpoint over any table revision.
    name = collect(ws, "last", "test@latest", checkpoint="last", progress=False)
    again = ws.runs.collection(run, name)
    assert name == "test@1-last" and sorted(again["clip_id"].to_pylist()) == sorted(test["clip_id"].to_pylist())
    # another dataset's table of the same name and revision (a hold-out set) is a collection of its own
    from curation.review.metrics import final_collection

    ingest(ws, read_nexar(tiny_synth(tmp_path / "other", seed=3, n_train=3, n_test=2)), "other",
           IngestOptions(frame_size=64), progress=False)
    name = collect(ws, "last", "other/test@1", checkpoint="last", progress=False)
    kept = ws.runs.collection(run, "test@1-last").select(["clip_id", "prob"])
    assert name == "other+test@1-last" and kept.equals(again.select(["clip_id", "prob"]))
    assert set(ws.runs.collection(run, name)["clip_id"].to_pylist()) == \
        set(ws.tables.read(ws.resolve("other/test@1"))["clip_id"].to_pylist())
    assert collect(ws, "last", "other/clips@1", progress=False) == "other+clips@1"
    assert final_collection(ws, run) == "clips@2" and final_collection(ws, run, "test") == "test@1"


def _cli(ws_root, *args, launcher=(sys.executable, "-m", "curation.cli")):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return [*launcher, "--workspace", str(ws_root), *args], env


@pytest.mark.slow
def test_torchrun_two_ranks_cover_what_one_process_covers(tmp_path, s3_bucket):
    """With the workspace in a bucket (S3, moto's server): every rank reads frames from it, rank 0 writes the run
    there. Three videos: their collection is drawn as a map without UMAP, whose numba compile (~25 s) each process
    pays."""
    ws = fresh_ws(tmp_path, tiny_synth(tmp_path / "d", seed=2, n_train=3, n_test=1), root=f"{s3_bucket}/ws")
    common = ["train", "--model", "mvit_tiny", "--weights", "none", "--epochs", "1", "--batch-size", "4",
              "--workers", "0", "--draws", "40", "--seed", "3"]
    single = train(ws, TrainConfig(epochs=1, draws_per_epoch=40, seed=3, **TINY), echo=lambda *_: None,
                   progress=False)
    launcher = (sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                str(free_port()), "-m", "curation.cli")
    cmd, env = _cli(ws.root, *common, "--name", "ddp", launcher=launcher)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ddp = [r for r in ws.runs.runs() if r.endswith("-ddp")][0]
    info = ws.runs.record(ddp).to_dict()
    assert info["world_size"] == 2 and info["status"] == "completed"
    one, two = ws.runs.dynamics(single), ws.runs.dynamics(ddp)
    assert Counter(two["clip_id"].to_pylist()) == Counter(one["clip_id"].to_pylist())  # the same global draw
    for name in ws.runs.collections(single):
        assert sorted(ws.runs.collection(ddp, name)["clip_id"].to_pylist()) == \
            sorted(ws.runs.collection(single, name)["clip_id"].to_pylist())


@pytest.mark.slow  # the full-size model
def test_mvit_v2_s_forward_backward_one_step():
    from curation.models.mvit import build_model

    torch.manual_seed(0)
    model, spec, _ = build_model("mvit_v2_s", 1, "none")
    assert (spec.input_size, spec.frames, spec.feature_dim) == (224, 16, 768)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    logits, features = model(torch.randn(1, 3, 16, 224, 224))
    assert logits.shape == (1, 1) and features.shape == (1, 768)
    torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], torch.ones(1)).backward()
    optimizer.step()
    assert all(p.grad is not None for p in model.head.parameters())


def test_channels_last_pooling_changes_the_layout_not_the_values():
    """The CPU speed-up (the attention pooling's input in channels-last) must not change what the model computes."""
    from curation.models.mvit import build_model

    x, labels = torch.randn(2, 3, 16, 64, 64), torch.tensor([1, 3])
    layouts, outputs = [], []
    for fast in (False, True):
        torch.manual_seed(0)
        model, _, _ = build_model("mvit_tiny", 4, "none", head="linear", channels_last_pooling=fast)
        pool = model.backbone.blocks[0].attn.pool_k.pool
        pool.register_forward_hook(lambda m, args, out: layouts.append(
            args[0].is_contiguous(memory_format=torch.channels_last_3d) and not args[0].is_contiguous()))
        logits, _ = model(x)
        torch.nn.functional.cross_entropy(logits, labels).backward()
        outputs.append((logits.detach(), {n: p.grad for n, p in model.named_parameters()}))
    assert layouts == [False, True]
    (slow_logits, slow_grads), (fast_logits, fast_grads) = outputs
    assert torch.equal(slow_logits, fast_logits)
    total = sum(g.norm() ** 2 for g in slow_grads.values()) ** 0.5
    assert max((slow_grads[n] - fast_grads[n]).norm() for n in slow_grads) < 1e-5 * total


def _three_class_folders(tmp_path, data_root) -> Workspace:
    """Six of the synthetic videos as a three-class folders dataset `ucf`, ingested."""
    import shutil

    from curation.ingest.layouts import read_folders
    from curation.synth import load_truth

    truth = load_truth(data_root)["videos"]
    videos = sorted(v for v, t in truth.items() if t["split"] == "train")
    for i, vid in enumerate(videos[:6]):
        folder = tmp_path / "ucf" / ["drive", "brake", "turn"][i % 3]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_root / "train" / f"{vid}.mp4", folder / f"v_{i}.mp4")
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_folders(tmp_path / "ucf"), "ucf", IngestOptions(frame_size=64, val_fraction=0.34),
           progress=False)
    return ws


@pytest.mark.slow  # a training run on class folders, end to end
def test_multiclass_run_on_class_folders(tmp_path, data_root):
    ws = _three_class_folders(tmp_path, data_root)
    run = train(ws, TrainConfig(table="ucf/clips", epochs=1, head="linear", **TINY), progress=False)
    info = ws.runs.record(run).to_dict()
    val = info["epochs"][0]["val"]
    assert info["task"] == "multiclass" and info["metric"] == "accuracy"
    from curation.train.predict import load_predictor

    assert info["model"]["head"] == "linear"  # and a finished run's model is rebuilt with it (strict load)
    assert isinstance(load_predictor(ws, run, progress=False)[0].model.head, torch.nn.Linear)
    from curation.review.evidence import start_features

    assert start_features(ws, run) == {}  # a random start cannot be rebuilt: no second opinion from it
    confusion = np.array(val["confusion"])
    assert confusion.shape == (3, 3) and confusion.sum() == info["inputs"]["val_clips"]
    assert val["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum())  # rows truth, columns prediction
    assert set(ws.runs.dynamics(run)["pred"].to_pylist()) <= {0, 1, 2}


@pytest.mark.slow  # three runs
def test_a_runs_start_features_are_its_starting_weights_over_its_labelled_clips_made_once(tmp_path, data_root):
    from curation.review.evidence import embedding_descriptors, start_features

    ws = _three_class_folders(tmp_path, data_root)
    pretrained = [train(ws, TrainConfig(table="ucf/clips", epochs=1, **{**TINY, "weights": "pretrained", "seed": s}),
                       progress=False) for s in (0, 1)]
    first, second = (start_features(ws, r) for r in pretrained)
    labelled = {v for v, split in embedding_descriptors(ws, pretrained[0])[1].items() if split in ("train", "val")}
    assert set(first) == set(second) == labelled  # train and val: the probe is fitted on both
    assert all(np.allclose(first[v], second[v], atol=1e-2) for v in first)  # the start, whatever the run's seed
    trained = embedding_descriptors(ws, pretrained[0])[0]
    assert not all(np.allclose(first[v], trained[v], atol=1e-2) for v in first)  # not the trained model's
    kept = f"{pretrained[0]}/collect/clips@1-start-labelled.parquet"
    stamp = ws.runs.storage.version(kept)
    start_features(ws, pretrained[0])
    assert ws.runs.storage.version(kept) == stamp != ()  # one pass, kept


@pytest.mark.slow  # one training run per fold
def test_folds_train_one_run_per_fold_with_out_of_fold_validation(tmp_path, data_root):
    from click.testing import CliRunner

    from curation.cli import cli

    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_nexar(data_root), "nexar", IngestOptions(frame_size=64, folds=2), progress=False)
    args = ["--workspace", str(ws.root), "train", "--model", "mvit_tiny", "--weights", "none", "--epochs", "1",
            "--batch-size", "4", "--workers", "0", "--draws", "8"]
    result = CliRunner().invoke(cli, [*args, "--folds", "2"])
    assert result.exit_code == 0, result.output + result.stderr
    runs = ws.runs.runs()
    assert [r.rsplit("-", 1)[1] for r in runs] == ["fold0", "fold1"]
    clips = ws.tables.read(ws.resolve("clips"), ["clip_id", "fold"]).to_pylist()
    fold_of = {c["clip_id"]: c["fold"] for c in clips}
    for k, run in enumerate(runs):
        info = ws.runs.record(run).to_dict()
        assert info["config"]["fold"] == k
        assert all(fold_of[c] != k for c in ws.runs.dynamics(run)["clip_id"].to_pylist())  # never trains on k
    from curation.review.evidence import out_of_fold_probabilities
    from curation.review.suggest import suggest

    oof = out_of_fold_probabilities(ws, runs)
    assert sorted(oof["clip_id"].tolist()) == sorted(fold_of)  # every labelled clip once, out of fold
    found = suggest(ws, runs[0], runs=runs)  # 8 draws each: neither run learned, so neither proposes labels
    assert not [s for s in found if s.signal == "label issue"]
    assert [n.split()[0] for n in found.notes if "left out of the label issues" in n] == runs
    for run in runs:  # as if both had learned: each video either detector flags, once, naming both reasons
        record = ws.runs.record(run)
        record.best["value"] = 0.95
        record.epochs[-1].update(val_chance=0.5, constant_loss=1.0)
        ws.runs.write_record(run, record)
    from curation.review.suggest import confident_learning, label_issues

    by_aum = {s.id for s in label_issues(ws, runs[0], repeats=runs[1:])}
    by_cl = {s.id for s in confident_learning(ws, runs)}
    flagged = [s for s in suggest(ws, runs[0], runs=runs) if s.signal == "label issue"]
    assert sorted(s.id for s in flagged) == sorted(by_aum | by_cl) and by_aum | by_cl
    for s in flagged:
        assert ("confident learning" in s.reason) == (s.id in by_cl) and ("AUM" in s.reason) == (s.id in by_aum)
    # as relabels: clips of those videos whose AUM over both runs is below 0, to the other label, applied by id
    relabels = [s for s in suggest(ws, runs[0], runs=runs, action="label") if s.signal == "label issue"]
    before = {c["clip_id"]: c for c in ws.tables.read(ws.resolve("clips"), ["clip_id", "video_id", "label"])
              .to_pylist()}
    assert relabels and all(s.level == "clip" and before[s.id]["video_id"] in by_aum | by_cl for s in relabels)
    proposed = CliRunner().invoke(cli, ["--workspace", str(ws.root), "suggest", "--runs", ",".join(runs),
                                        "--label-action", "label", "-o", str(tmp_path / "relabel.csv")])
    assert proposed.exit_code == 0, proposed.output + proposed.stderr
    import csv
    rows = [r for r in csv.DictReader((tmp_path / "relabel.csv").open()) if r["signal"] == "label issue"]
    assert {(r["id"], r["level"], r["action"], r["value"]) for r in rows} == {(s.id, "clip", "label", s.value)
                                                                              for s in relabels}
    applied = CliRunner().invoke(cli, ["--workspace", str(ws.root), "edit", "clips", "--from",
                                       str(tmp_path / "relabel.csv"), "-m", "relabels"])
    assert applied.exit_code == 0, applied.output + applied.stderr
    after = {c["clip_id"]: c["label"] for c in ws.tables.read(ws.resolve("clips"), ["clip_id", "label"]).to_pylist()}
    changed = {c for c in before if after[c] != before[c]["label"]}
    assert changed == {s.id for s in relabels} and all(after[c] == 1 - before[c]["label"] for c in changed)
    bad = CliRunner().invoke(cli, [*args, "--folds", "3"])
    assert bad.exit_code == 2 and "re-ingest with --folds 3" in bad.stderr


def test_auto_head_is_the_mlp_for_binary_and_linear_for_classes():
    from curation.models.mvit import head_for

    assert head_for("auto", 1) == "mlp" and head_for("auto", 3) == "linear" and head_for("auto", 50) == "linear"
    assert head_for("mlp", 10) == "mlp" and head_for("linear", 1) == "linear"
    with pytest.raises(BadInput, match="unknown head"):
        head_for("wide", 10)
    with pytest.raises(BadInput, match="head"):
        TrainConfig(head="wide")
    stored = {k: v for k, v in TrainConfig().to_dict().items() if k != "head"}
    assert TrainConfig.from_dict(stored).head == "mlp"  # runs recorded before heads were chosen had the MLP


def test_run_records_the_weights_actually_loaded_and_named_weights_never_fall_back():
    from curation.models.mvit import build_model

    notices = []
    try:
        _, _, loaded = build_model("mvit_v2_s", 1, "kinetics400", notice=notices.append)
    except BadInput as exc:  # offline, nothing cached: asked for by name, so an error that says how to get them
        assert "could not be loaded" in exc.problem and "weights file" in exc.fix.text and not notices
        _, _, loaded = build_model("mvit_v2_s", 1, "pretrained", notice=notices.append)
        # the default falls back to random init, said once, and recorded as such, with why
        assert loaded["requested"] == "pretrained" and loaded["loaded"] == "none" and loaded["reason"]
        assert len(notices) == 1
    else:  # a machine that can download (or has cached) the weights
        assert loaded["requested"] == loaded["loaded"] == "kinetics400" and len(loaded["sha256"]) == 64
    with pytest.raises(BadInput, match="no Kinetics-400 weights exist for mvit_tiny"):
        build_model("mvit_tiny", 1, "kinetics400")
    _, _, tiny = build_model("mvit_tiny", 1, "none")
    assert tiny == {"requested": "none", "loaded": "none"}


def test_train_with_weights_that_cannot_be_loaded_exits_2_naming_the_fix_and_writes_no_run(ws_dir):
    line = assert_one_line_error(curate("-w", ws_dir, "train", "--model", "mvit_tiny", "--weights", "kinetics400"),
                                 "no Kinetics-400 weights exist for mvit_tiny")
    assert "pretrained" in line and "weights file" in line
    assert not (ws_dir / "runs").exists() or not any((ws_dir / "runs").iterdir())


def test_weights_from_a_file_load_the_backbone_whole_or_not_at_all(tmp_path):
    """`--weights FILE` is how users start from their own weights and how the tiny model starts from its packaged
    synthetic backbone (`pretrained`): every backbone tensor arrives; a file for another model is refused."""
    from curation.errors import BadInput
    from curation.models.mvit import TINY_WEIGHTS, TINY_WEIGHTS_SHA256, build_model

    torch.manual_seed(1)
    source, _, _ = build_model("mvit_tiny", 1, "none")
    path = tmp_path / "mine.pt"
    torch.save(source.state_dict(), path)  # a whole classifier's state dict: its backbone entries are used
    torch.manual_seed(2)
    model, _, loaded = build_model("mvit_tiny", 1, str(path))
    assert loaded == {"requested": str(path), "loaded": str(path), "sha256": sha256_file(path)}
    for name, tensor in source.backbone.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[name], tensor), name
    assert not torch.equal(model.head[0].weight, source.head[0].weight)  # the head starts new
    partial = {k: v for k, v in source.backbone.state_dict().items() if not k.startswith("blocks.2")}
    torch.save({"state_dict": partial}, tmp_path / "partial.pt")
    with pytest.raises(BadInput, match="does not fit mvit_tiny"):
        build_model("mvit_tiny", 1, str(tmp_path / "partial.pt"))
    (tmp_path / "junk.pt").write_text("not a tensor file")
    with pytest.raises(BadInput, match="not a weights file"):
        build_model("mvit_tiny", 1, str(tmp_path / "junk.pt"))
    with pytest.raises(BadInput, match="neither kinetics400, none nor a file"):
        build_model("mvit_tiny", 1, str(tmp_path / "absent.pt"))
    _, _, packaged = build_model("mvit_tiny", 1, "pretrained")  # the packaged backbone, as released
    assert packaged["loaded"] == str(TINY_WEIGHTS) and packaged["sha256"] == TINY_WEIGHTS_SHA256
    assert TINY_WEIGHTS.stat().st_size <= 5_000_000


def test_the_recipe_is_what_train_uses_unless_overridden():
    from click.testing import CliRunner

    from curation.cli import cli
    from curation.train.config import RECIPE_LR

    tiny, big = TrainConfig(model="mvit_tiny"), TrainConfig()
    assert (tiny.weights, tiny.lr) == ("pretrained", RECIPE_LR["mvit_tiny"])
    assert (big.model, big.weights, big.lr) == ("mvit_v2_s", "pretrained", RECIPE_LR["mvit_v2_s"])
    assert TrainConfig(model="mvit_tiny", lr=1e-3).lr == 1e-3
    assert TrainConfig.from_dict(tiny.to_dict()) == tiny  # a run's stored config reads back as it trained
    shown = " ".join(CliRunner().invoke(cli, ["train", "--help"]).output.split())
    assert "[default: pretrained]" in shown and "5e-4 for mvit_tiny" in shown and "1e-4 for mvit_v2_s" in shown


def _colour_folders(root: Path, per_class: int, wrong: dict[str, str]) -> None:
    """Class folders of short videos whose class is their colour (red, green, blue, under noise): a dataset any
    model learns in a few steps. `wrong`: video name → the class folder it is written to instead."""
    from fractions import Fraction

    from curation.synth import _encode

    rng = np.random.default_rng(0)
    for k, colour in enumerate(("red", "green", "blue")):
        for i in range(per_class):
            name = f"{colour}_{i:02d}"
            folder = root / wrong.get(name, colour)
            folder.mkdir(parents=True, exist_ok=True)
            frames = []
            for _ in range(24):
                frame = rng.integers(0, 40, (64, 64, 3), dtype=np.uint8)
                frame[..., k] += 200
                frames.append(frame)
            _encode(folder / f"{name}.mp4", frames, Fraction(10), 64, 64, 1)


@pytest.mark.slow
def test_three_class_fold_runs_flag_no_class_beyond_its_planted_share(tmp_path):
    """Issue 41: confident learning over a 3-class dataset's k-fold runs reads every class's probability, so no
    class's videos are flagged beyond the share of them whose label was planted wrong, plus a margin (on the top
    class's probability alone it flagged every video of class 2)."""
    from click.testing import CliRunner

    from curation.cli import cli
    from curation.ingest.layouts import read_folders
    from curation.review.suggest import label_issues_of_runs, suggest

    wrong = {"red_01": "green", "red_02": "blue", "green_03": "red", "green_04": "blue", "blue_05": "red",
             "blue_06": "green"}
    _colour_folders(tmp_path / "data", 12, wrong)
    ws = Workspace.open(tmp_path / "ws", backend="lance")
    ingest(ws, read_folders(tmp_path / "data"), "colours", IngestOptions(frame_size=64, folds=3, val_fraction=0),
           progress=False)
    result = CliRunner().invoke(cli, ["--workspace", str(ws.root), "train", "--model", "mvit_tiny", "--folds", "3",
                                      "--epochs", "1", "--draws", "96", "--batch-size", "8", "--workers", "0"])
    assert result.exit_code == 0, result.output + result.stderr
    runs = ws.runs.runs()
    found = suggest(ws, runs[0], runs=runs)
    assert not [n for n in found.notes if "left out" in n or "AUM only" in n], found.notes  # learned: CL ran
    flagged = {s.id for s in found if s.signal == "label issue"}
    relabels = label_issues_of_runs(ws, runs, [], action="label")  # asked for: per clip, to the preferred class
    assert relabels and all(s.level == "clip" and s.action == "label" and s.video in flagged for s in relabels)
    assert {s.value for s in relabels} <= {"red", "green", "blue"}
    videos = ws.tables.read(ws.resolve("colours/videos"), ["video_id", "label"]).to_pylist()
    planted = {v["video_id"] for v in videos if v["video_id"].split("/")[-1] in wrong}
    assert len(planted) == len(wrong) and flagged & planted  # found some of the wrong labels
    for label in {v["label"] for v in videos}:
        mine = {v["video_id"] for v in videos if v["label"] == label}
        assert len(flagged & mine) / len(mine) <= len(planted & mine) / len(mine) + 0.2, (label, flagged & mine)
