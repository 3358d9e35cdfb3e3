import pyarrow as pa
import pytest

from curation.tables import TableSpec
from curation.tables.lance_store import LanceTableStore

SPEC = TableSpec("ds", "clips", "clips", "clip_id", "label", "weight", ["normal", "collision"],
                 parent={"table": "videos", "key": "video_id"})


def make_clips(n: int) -> pa.Table:
    return pa.table({
        "clip_id": [f"v{i // 10:03d}:{i % 10}" for i in range(n)],
        "video_id": [f"v{i // 10:03d}" for i in range(n)],
        "label": pa.array([i % 2 for i in range(n)], pa.int32()),
        "weight": pa.array([1.0] * n, pa.float32()),
        "end_frame": pa.array(range(n), pa.int32()),
    })


@pytest.fixture
def store(tmp_path):
    return LanceTableStore(tmp_path / "tables")


@pytest.fixture
def clips_store(store):
    store.create(SPEC, make_clips(100), message="init")
    return store


def tiny_synth(root, seed: int, **overrides):
    """A small synthetic Nexar-layout dataset for tests (96×64, 4 s train / 3 s test videos)."""
    from curation.synth import generate

    options = dict(n_train=8, n_test=3, width=96, height=64, duration_s=4.0, test_duration_s=3.0,
                   progress=False)
    generate(root, seed=seed, **{**options, **overrides})
    return root
