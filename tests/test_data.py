"""Clip data path: dataset over a revision, transforms, weighted sampler, bad clips."""
import lance
import numpy as np
import pyarrow as pa
import pytest
import torch

from conftest import private_copy, tiny_synth
from curation.storage import LocalStorage
from curation.data.dataset import ClipDataset, ClipLoader, collate_clips
from curation.data.sampler import WeightedClipSampler
from curation.data.transforms import get_preset
from curation.frames.cache import SCHEMA, FrameCache, cache_size_for, oversized_cache_note
from curation.ingest.pipeline import IngestOptions, ingest
from curation.ingest.layouts import read_nexar
from curation.tables import Edit
from curation.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    base = tmp_path_factory.mktemp("data")
    tiny_synth(base / "d", seed=1, n_train=6, n_test=2)
    ws = Workspace.open(base / "ws", backend="lance")
    ingest(ws, read_nexar(base / "d"), "nexar", IngestOptions(frame_size=64), progress=False)
    return ws


def test_items_have_shape_dtype_label_weight_and_id(ws):
    for preset in ("winner", "eval"):
        ds = ClipDataset.from_revision(ws, ws.resolve("clips"), get_preset(preset, size=56))
        item = ds[0]
        assert item["video"].shape == (3, 16, 56, 56) and item["video"].dtype == torch.float32
        assert item["clip_id"] == ds.clip_ids[0] and item["label"] in (0, 1) and item["weight"] == 1.0
    full = ClipDataset.from_revision(ws, ws.resolve("clips"), get_preset("winner"))
    assert full[1]["video"].shape == (3, 16, 224, 224)
    test = ClipDataset.from_revision(ws, ws.resolve("test"), get_preset("eval"))
    assert test[0]["label"] == -1  # unlabelled


def test_one_random_draw_per_clip_applied_to_all_frames():
    torch.manual_seed(0)
    frame = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    clip = np.repeat(frame[None], 16, axis=0)
    train = get_preset("winner", size=48)
    out = train(clip)
    assert out.shape == (3, 16, 48, 48)
    assert torch.equal(out[:, 0:1].expand_as(out), out)  # every frame got the same warp and jitter
    outs = [train(clip) for _ in range(4)]
    assert not all(torch.equal(outs[0], o) for o in outs[1:])  # but each clip its own draw
    ev = get_preset("eval", size=48)
    assert torch.equal(ev(clip), ev(clip))  # eval is deterministic
    normalised = ev(np.full((16, 64, 64, 3), 115, dtype=np.uint8))
    assert abs(normalised.mean().item() - (115 / 255 - 0.45) / 0.225) < 1e-3


def test_deleted_and_zero_weight_clips_are_never_drawn(ws, tmp_path):
    ws = private_copy(ws, tmp_path)
    head = ws.resolve("clips")
    ids = ws.tables.read(head, ["clip_id"])["clip_id"].to_pylist()
    deleted, zeroed = set(ids[:3]), set(ids[3:6])
    rev = ws.tables.edit("nexar", "clips", Edit(delete=deleted, weights={i: 0.0 for i in zeroed}), message="t")
    ds = ClipDataset.from_revision(ws, rev, get_preset("eval", size=32))
    assert not deleted & set(ds.clip_ids) and zeroed <= set(ds.clip_ids)
    sampler = WeightedClipSampler(ds.weights, seed=3)
    assert len(sampler) == len(ds) - len(zeroed)  # an epoch = the non-zero rows
    drawn = set()
    for epoch in range(10):
        sampler.set_epoch(epoch)
        drawn |= {ds.clip_ids[i] for i in sampler}
    assert not drawn & zeroed and not drawn & deleted
    batch = next(iter(ClipLoader(ds, batch_size=4, sampler=sampler)))
    assert batch["video"].shape[0] == 4 and not set(batch["clip_id"]) & zeroed


def test_sampling_frequency_tracks_weights():
    weights = np.ones(50)
    weights[0] = 4.0
    sampler = WeightedClipSampler(weights, num_samples=53_000, seed=0)
    counts = np.bincount(np.fromiter(sampler, int), minlength=50)
    p4 = 4 / 53
    n = 53_000
    assert abs(counts[0] - n * p4) < 5 * np.sqrt(n * p4 * (1 - p4))
    ratio = counts[0] / counts[1:].mean()
    assert 3.7 < ratio < 4.3


def test_balanced_draws_give_each_class_the_same_share_and_keep_weights_within_it():
    from types import SimpleNamespace

    from curation.train.loop import draw_weights

    labels = np.array([0] * 40 + [1] * 10)
    weights = np.ones(50, dtype=np.float32)
    weights[40], weights[0] = 3.0, 0.0  # a heavier positive, a negative never drawn
    dataset = SimpleNamespace(labels=labels, weights=weights)
    assert np.array_equal(draw_weights(dataset, balance=False), weights)
    balanced = draw_weights(dataset, balance=True)
    assert balanced[labels == 0].sum() == pytest.approx(balanced[labels == 1].sum())
    assert balanced[40] == pytest.approx(3 * balanced[41]) and balanced[0] == 0
    counts = np.bincount(labels[np.fromiter(WeightedClipSampler(balanced, num_samples=20_000, seed=1), int)])
    assert abs(counts[1] / counts.sum() - 0.5) < 0.02


def test_learning_rate_rises_over_the_warmup_then_decays_to_zero():
    from curation.train.loop import lr_schedule

    factor = lr_schedule(100, 0.1)
    assert [round(factor(s), 3) for s in (0, 4, 9)] == [0.1, 0.5, 1.0]
    decay = [factor(s) for s in range(10, 100)]
    assert decay[0] == 1.0 and all(a >= b for a, b in zip(decay, decay[1:])) and factor(100) == pytest.approx(0)
    assert lr_schedule(100, 0.0)(0) == 1.0  # no warmup: the cosine from the first step


def test_distributed_shares_are_disjoint_and_union_is_the_single_process_draw():
    weights = np.random.default_rng(0).uniform(0, 2, 101)
    weights[[5, 17]] = 0
    single = WeightedClipSampler(weights, num_samples=400, seed=7, rank=0, world_size=1)
    ranks = [WeightedClipSampler(weights, num_samples=400, seed=7, rank=r, world_size=2) for r in (0, 1)]
    for epoch in (0, 1):
        for s in [single, *ranks]:
            s.set_epoch(epoch)
        shares = [list(s) for s in ranks]
        assert len(shares[0]) == len(shares[1]) == 200
        merged = [None] * 400
        merged[0::2], merged[1::2] = shares  # rank r holds positions r, r+2, …: disjoint by construction
        assert merged == list(single)
    single.set_epoch(0)
    again = WeightedClipSampler(weights, num_samples=400, seed=7, rank=0, world_size=1)
    assert list(again) == list(single)  # deterministic given (seed, epoch)
    single.set_epoch(1)
    assert list(again) != list(single)


def test_missing_cache_falls_back_to_source_video(ws, tmp_path):
    ws = private_copy(ws, tmp_path)
    rev = ws.resolve("clips")
    ds = ClipDataset.from_revision(ws, rev, get_preset("eval", size=32))
    cache = FrameCache(ws.cache("nexar").root)
    before = ds.frames(0)
    cache.forget([ds.video_ids[0]])
    fresh = ClipDataset.from_revision(ws, rev, get_preset("eval", size=32))
    after = fresh.frames(0)  # decoded from the mp4 with PyAV
    assert after.shape == before.shape
    assert np.abs(after.astype(float) - before.astype(float)).mean() < 12  # same picture, modulo JPEG
    no_source = ClipDataset.from_revision(ws, rev, get_preset("eval", size=32), with_sources=False)
    assert "not in the cache" in no_source[0]["error"]


def with_broken_frame(ds, ws, folder, garbage: bytes) -> None:
    """Point `ds` at a copy of the cache in `folder` whose first clip has one frame of `garbage` bytes."""
    good = lance.dataset(str(ws.cache("nexar").root / "frames.lance")).to_table()
    broken_id = f"{ds.video_ids[0]}:{ds.end_frame[0]}"
    jpeg = [garbage if f == broken_id else j for f, j in zip(good["frame_id"].to_pylist(), good["jpeg"].to_pylist())]
    table = good.set_column(good.schema.get_field_index("jpeg"), "jpeg", pa.array(jpeg, pa.binary()))
    lance.write_dataset(table, str(folder / "frames.lance"), schema=SCHEMA)
    ds.cache = LocalStorage(folder)


def test_corrupt_frame_is_skipped_and_reported(ws, tmp_path):
    ds = ClipDataset.from_revision(ws, ws.resolve("clips"), get_preset("eval", size=32), with_sources=False)
    with_broken_frame(ds, ws, tmp_path, b"not a jpeg")
    others = [i for i, v in enumerate(ds.video_ids) if v != ds.video_ids[0]][:2]  # clips share frames
    items = [ds[i] for i in [0, *others]]
    batch = collate_clips(items)
    assert batch["skipped"] and batch["skipped"][0][0] == ds.clip_ids[0]
    assert batch["video"].shape[0] == 2 and ds.clip_ids[0] not in batch["clip_id"]
    loader = ClipLoader(ds, batch_size=len(ds))
    whole = next(iter(loader))
    assert len(whole["clip_id"]) + len(whole["skipped"]) == len(ds)  # the epoch went on


@pytest.mark.slow
def test_loader_with_two_workers_sees_every_clip(ws):
    ds = ClipDataset.from_revision(ws, ws.resolve("test"), get_preset("eval", size=32))
    seen = [cid for batch in ClipLoader(ds, batch_size=1, workers=2) for cid in batch["clip_id"]]
    assert sorted(seen) == sorted(ds.clip_ids)


def test_warp_geometry_flip_moves_content_to_the_other_side():
    from curation.data.transforms import ClipTransform

    frame = np.zeros((64, 64, 3), dtype=np.uint8)
    frame[4:20, 4:20] = 255  # a white square top-left
    clip = np.repeat(frame[None], 2, axis=0)
    flip_only = ClipTransform("t", train=True, size=64, rotation_deg=0, crop_area=(1, 1), crop_ratio=(1, 1),
                              flip_p=1.0, jitter=0)
    out = flip_only(clip)[0, 0]  # red channel, first frame, normalised
    white = (1 - 0.45) / 0.225
    assert out[12, 52] > white - 0.1 and out[12, 12] < 0  # now top-right, and top-left is dark
    keep = ClipTransform("t", train=True, size=64, rotation_deg=0, crop_area=(1, 1), crop_ratio=(1, 1),
                         flip_p=0.0, jitter=0)
    assert keep(clip)[0, 0, 12, 12] > white - 0.1


def test_uint8_transport_gives_the_same_tensors(ws):
    ds = ClipDataset.from_revision(ws, ws.resolve("test"), get_preset("eval", size=32))
    moved = next(iter(ClipLoader(ds, batch_size=2, uint8_transport=True)))
    direct = next(iter(ClipLoader(ds, batch_size=2, uint8_transport=False)))
    assert moved["video"].dtype == torch.float32 and torch.allclose(moved["video"], direct["video"], atol=1e-5)


def test_frames_are_decoded_at_the_smallest_scale_the_transform_needs(ws):
    """A 32-px clip from the 64-px cache is decoded at half scale inside the JPEG decoder, and comes out close
    to the full decode resized."""
    ds = ClipDataset.from_revision(ws, ws.resolve("test"), get_preset("eval", size=32))
    assert ds.frames(0, min_side=32).shape == (16, 32, 32, 3) and ds.frames(0, min_side=33).shape == (16, 64, 64, 3)
    item = ds[0]["video"]
    assert torch.equal(item, ds.transform(ds.frames(0, min_side=32)))
    from_full = ds.transform(ds.frames(0))
    assert not torch.equal(item, from_full)  # the check above can fail
    assert ((item - from_full).abs() * 0.225 * 255).mean() < 2  # in 8-bit levels


def test_training_far_below_the_cached_size_is_told_which_size_suits_it():
    assert [cache_size_for(s) for s in (224, 112, 64)] == [256, 128, 72]  # the recipe's 256 → 224, in 8s
    assert "72 px" in oversized_cache_note(256, 64) and "128 px" in oversized_cache_note(256, 112)
    assert oversized_cache_note(256, 224) is None and oversized_cache_note(128, 112) is None
    assert oversized_cache_note(143, 64) is None and oversized_cache_note(144, 64) is not None


def test_decode_on_device_gives_the_tensors_of_the_cpu_path(ws):
    """JPEGs decoded by the consumer (torchvision, here on the CPU: the GPU path's code) and transformed in torch
    equal the workers' OpenCV path up to rounding, for the train draws (the same draws: one RNG stream) and eval."""
    rev = ws.resolve("clips")
    for preset in ("winner", "eval"):
        ds = ClipDataset.from_revision(ws, rev, get_preset(preset, size=48))
        order = list(range(min(6, len(ds))))
        torch.manual_seed(3)
        cpu = next(iter(ClipLoader(ds, batch_size=len(order), sampler=order)))
        torch.manual_seed(3)
        dev = next(iter(ClipLoader(ds, batch_size=len(order), sampler=order, decode_on_device=True)))
        assert dev["clip_id"] == cpu["clip_id"] and torch.equal(dev["label"], cpu["label"])
        assert dev["video"].shape == cpu["video"].shape == (len(order), 3, 16, 48, 48)
        levels = (dev["video"] - cpu["video"]).abs() * 0.225 * 255  # in 8-bit levels
        assert levels.mean() < 1.5, (preset, levels.mean())
        assert (levels > 8).float().mean() < 0.01, preset
    torch.manual_seed(3)
    other = next(iter(ClipLoader(ds, batch_size=len(order), sampler=order[::-1], decode_on_device=True)))
    assert not torch.allclose(other["video"], dev["video"])  # the comparison can fail


def test_a_corrupt_jpeg_decoded_on_device_skips_its_clip_not_the_batch(ws, tmp_path):
    ds = ClipDataset.from_revision(ws, ws.resolve("clips"), get_preset("winner", size=32), with_sources=False)
    with_broken_frame(ds, ws, tmp_path, b"\xff\xd8 not a jpeg")
    others = [i for i, v in enumerate(ds.video_ids) if v != ds.video_ids[0]][:2]
    batch = next(iter(ClipLoader(ds, batch_size=3, sampler=[0, *others], decode_on_device=True)))
    assert [c for c, _ in batch["skipped"]] == [ds.clip_ids[0]] and "JPEG" in batch["skipped"][0][1]
    assert batch["clip_id"] == [ds.clip_ids[i] for i in others] and batch["video"].shape == (2, 3, 16, 32, 32)
    assert batch["label"].tolist() == [int(ds.labels[i]) for i in others]
