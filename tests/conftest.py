import contextlib
import importlib.util
import os
import shutil
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):  # before torch is imported: workers share the cores (one each), or their
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # OpenMP threads spin against each other's

import pyarrow as pa
import pytest

from curation.tables import TableSpec
from curation.backends.lance.tables import LanceTableStore


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: one worker more than the cores (at most four). Every worker waits on subprocesses, files and
    sockets part of the time; on CI's two cores three workers finished the suite in 5m27 against 5m55 for two."""
    return min(4, (os.cpu_count() or 1) + 1)


CHROMIUM = os.environ.get("CURATE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Browser tests skip where Chromium is missing, as on a developer's machine; with CI=true they run and fail instead:
# CI cannot go green by skipping them (.ci/run installs Chromium and stops when it cannot).
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                                    reason="Chromium is not installed (.ci/run installs it)")
# torchvision's video datasets decode with TorchCodec, which loads the system's FFmpeg libraries: the same rule.
FFMPEG = __import__("ctypes.util").util.find_library("avcodec")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None and os.environ.get("CI") != "true",
                                  reason="FFmpeg's libraries are not installed (.ci/run installs Debian's ffmpeg)")

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


def snapshot(root) -> dict:
    """Every file under `root` with its size and sha256: equal snapshots mean nothing was written."""
    import hashlib
    from pathlib import Path

    root = Path(root)
    return {p.relative_to(root).as_posix(): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if p.is_file()} if root.exists() else {}


def curate(*args, env: dict | None = None, cwd=None):
    """The `curate` command line run in this process (the console script's own `main`, no stdin): a
    CompletedProcess with text output. A subprocess costs seconds of imports per call; tests that prove what
    only a process shows (kills, exit without traceback, imports, concurrency) use `curate_subprocess`."""
    import os
    import subprocess

    from click.testing import CliRunner

    from curation.cli import main

    assert "CURATE_FAULT" not in (env or {}), "a fault kills its process: use curate_subprocess"
    code, before = 0, os.getcwd()
    with CliRunner().isolation(env=env) as (out, err, _):
        try:
            if cwd is not None:
                os.chdir(cwd)
            main([str(a) for a in args])
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        finally:
            os.chdir(before)
        stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    return subprocess.CompletedProcess(["curate", *map(str, args)], code, stdout, stderr)


def curate_subprocess(*args, env: dict | None = None, cwd=None, timeout: int = 300):
    """The real `curate` command in a subprocess (no stdin): a CompletedProcess with text output."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    full_env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1]), **(env or {})}
    return subprocess.run([sys.executable, "-m", "curation.cli", *map(str, args)], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)


def watched_page(browser, **options):
    """A new page of `browser` and the list its console errors, uncaught exceptions and failed requests (with
    their URLs) are collected into."""
    page = browser.new_page(**options)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} from {r.url}") if r.status >= 400 else None)  # which
    return page, errors


def assert_accessible(page, where: str) -> None:
    """axe-core (axe-playwright-python) on the page as shown: no critical or serious violation."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    bad = [f"{v['id']} ({v['impact']}: {v['help']}) at {[n['target'] for n in v['nodes'][:3]]}"
           for v in found if v["impact"] in ("critical", "serious")]
    assert not bad, f"{where}: " + "; ".join(bad)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def assert_one_line_error(proc, needle: str = "", code: int = 2) -> str:
    """Exit `code` (2: the caller's mistake), exactly one line on stderr that contains `needle`, no traceback
    anywhere."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    assert needle.lower() in lines[0].lower(), lines[0]
    return lines[0]


@pytest.fixture(scope="session")
def prebuilt(tmp_path_factory):
    """One synthetic dataset ingested once per test session (frames at 32 px); tests copy it, never mutate it."""
    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar
    from curation.workspace import Workspace

    root = tmp_path_factory.mktemp("prebuilt")
    data = tiny_synth(root / "data", seed=5)
    ingest(Workspace.open(root / "ws", backend="lance"), read_nexar(data), "nexar", IngestOptions(frame_size=32),
           progress=False)
    return root


@pytest.fixture(scope="session")
def reviewed_base(tmp_path_factory):
    """A workspace with flaws to find (label flips, a duplicated pair, a corrupt video) and one tiny trained run
    with its collection (per-clip metrics, dynamics, the 2-D map), built once per session; tests copy it."""
    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar
    from curation.train.config import TrainConfig
    from curation.train.loop import train
    from curation.workspace import Workspace

    root = tmp_path_factory.mktemp("reviewed")
    tiny_synth(root / "data", seed=6, n_train=12, n_test=3, label_noise=0.2, n_duplicates=2, n_corrupt=1)
    ws = Workspace.open(root / "ws", backend="lance")
    ingest(ws, read_nexar(root / "data"), "nexar", IngestOptions(frame_size=32), progress=False)
    train(ws, TrainConfig(model="mvit_tiny", weights="none", epochs=2, batch_size=4, workers=0, draws_per_epoch=32),
          echo=lambda *_: None, progress=False)
    return root


@pytest.fixture
def reviewed_ws(reviewed_base, tmp_path):
    """A private copy of the reviewed workspace (its dataset stays at reviewed_base/data)."""
    import shutil

    shutil.copytree(reviewed_base / "ws", tmp_path / "ws")
    return tmp_path / "ws"


def private_copy(ws, tmp_path):
    """A copy of a module's shared workspace for a test that changes it (the shared one stays as built)."""
    import shutil

    from curation.workspace import Workspace

    shutil.copytree(ws.root, tmp_path / "ws-copy")
    return Workspace.open(tmp_path / "ws-copy")


@pytest.fixture
def ws_own_data(prebuilt, tmp_path):
    """(workspace, data): a workspace ingested from its own copy of the prebuilt data, which a test may delete."""
    import shutil

    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar
    from curation.workspace import Workspace

    shutil.copytree(prebuilt / "data", tmp_path / "data")
    ingest(Workspace.open(tmp_path / "ws", backend="lance"), read_nexar(tmp_path / "data"), "nexar",
           IngestOptions(frame_size=32), progress=False)
    return tmp_path / "ws", tmp_path / "data"


@pytest.fixture
def ws_dir(prebuilt, tmp_path):
    """A private copy of the prebuilt workspace (its dataset stays at prebuilt/data)."""
    import shutil

    shutil.copytree(prebuilt / "ws", tmp_path / "ws")
    return tmp_path / "ws"


def misplace_a_label(ws, run: str, shift: float = 1.5) -> tuple[str, float]:
    """After predict-events on a Nexar run: every stored curve made to follow its video's labels as a Nexar model
    that learned them does (0 before the label rule's start, 1 from there to the event, and still 1 after it, where
    no clip taught the model anything), except one train positive's, which follows them `shift` seconds later
    (or earlier) — what a run that learned shows for a label that far off. That video is one whose moved rise
    lies within its curve (the tiny test videos start their curves after most alerts). Returns (that video,
    where its event is)."""
    import numpy as np

    from curation.ingest.clips import LabelRule

    record = ws.runs.record(run)
    trained = record.trained_on(ws.tables)
    name = f"{trained.table}@{trained.number}"
    df = ws.runs.curves(run, name).to_pandas()
    task = ws.task(trained.dataset)
    rule = LabelRule.parse(task.options["label_rule"])
    pinned = {v["video_id"]: v for v in ws.tables.read(task.videos_at(ws.tables, record.inputs.videos)).to_pylist()}

    def rise(row) -> float:  # where the rule's positives start
        grid = np.arange(0.0, row["time_of_event"] + 1e-9, 0.01)
        return float(grid[np.argmax([rule.label(t, row["time_of_event"], row["time_of_alert"]) for t in grid])])

    def follow(video: str, by: float = 0.0) -> np.ndarray:
        row = pinned[video]
        times = df.loc[df.video_id == video, "time_s"].to_numpy() - by
        return (times >= rise(row)).astype(float) if row["target"] == 1 else np.zeros(len(times))

    span = df.groupby("video_id")["time_s"].agg(["min", "max"])

    def fits(v: str, by: float) -> bool:  # the rise, moved, lies within the curve
        return span.loc[v, "min"] + 0.3 <= rise(pinned[v]) + by <= span.loc[v, "max"] - 0.3

    moved, shift = next((v, by) for by in (shift, -shift) for v, row in pinned.items()
                        if row["target"] == 1 and row["split"] == "train" and v in span.index and fits(v, by))
    for video in span.index:
        df.loc[df.video_id == video, "score"] = follow(video, shift if video == moved else 0.0)
    ws.runs.write_curves(run, name, pa.Table.from_pandas(df, preserve_index=False))
    return moved, pinned[moved]["time_of_event"] + shift


def pass_the_learning_check(ws, run: str) -> None:
    """The run's record made to say it learned (val metric well above chance, train loss under a constant
    guess's), for tests of what a learned run leads to on data too small to learn from."""
    record = ws.runs.record(run)
    record.epochs[-1].update(val_chance=0.5, constant_loss=1.0, train_loss=0.1)
    record.best = {**(record.best or {}), "value": 0.99}
    ws.runs.write_record(run, record)


def assert_the_index_proposes_what_every_distance_does(ws, run: str, monkeypatch, **options) -> list:
    """Above a size the near-duplicate, leak and outlier passes ask a nearest-neighbour index instead of computing
    every distance (review/signals/neighbours.py): `suggest` over this workspace forced through the index, with its
    graph built and searched as thinly as it allows, proposes the same edits of those signals for the same reasons
    as every distance. (A multi-class run's label issues ask the index too, for their second opinion's neighbours,
    which a graph this thin need not find: they are not compared.) Returns those edits."""
    from curation.review.signals import neighbours
    from curation.review.suggest import suggest

    served = {"near-duplicate", "leak", "outlier"}

    def edits():
        return [(s.id, s.action, s.value, s.signal, s.reason) for s in suggest(ws, run, **options)
                if s.signal in served]

    every = edits()
    with monkeypatch.context() as patched:
        patched.setattr(neighbours, "EXACT_UP_TO", 0)
        patched.setattr(neighbours, "HNSW_BUILD", 1)
        patched.setattr(neighbours, "HNSW_SEARCH", 1)
        indexed = edits()
    assert every, "nothing to compare: give a workspace with near-duplicates or outliers"
    assert indexed == every
    return every


@contextlib.contextmanager
def running_dashboard(ws_dir, *args: str):
    """`curate dashboard` on a free loopback port in its own process, until the block ends; yields its URL."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "curation.cli", "dashboard", "-w", str(ws_dir), "--port",
                               str(port), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}/"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "api/tables", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def events_source(prebuilt, root):
    """An events-layout source of six of the prebuilt videos (two val), with one or two labelled times each:
    `root`/events.csv, returned."""
    import shutil

    root.mkdir(parents=True)
    lines = ["path,group,split,event_s"]
    for k, video in enumerate(sorted((prebuilt / "data" / "train").glob("*.mp4"))[:6]):
        shutil.copy(video, root / f"run{k}.mp4")
        lines += [f"run{k}.mp4,g{k},{'val' if k >= 4 else 'train'},{t}" for t in ([1.2, 2.6] if k % 2 else [2.0])]
    (root / "events.csv").write_text("\n".join(lines) + "\n")
    return root / "events.csv"


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto's server mode) on a free loopback port for the session, with the standard
    variables pointing at it; yields its endpoint URL. Each test takes its own bucket (`s3_bucket`)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in S3_VARIABLES}
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                      AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true")
    try:
        yield endpoint
    finally:
        server.stop()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


S3_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ALLOW_HTTP")


@pytest.fixture
def s3_bucket(s3_server, request):
    """A new bucket on the session's S3 server; yields s3://<bucket>."""
    import re
    import uuid

    import boto3

    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-") + "-" + uuid.uuid4().hex[:8]
    boto3.client("s3").create_bucket(Bucket=name)
    return f"s3://{name}"


def load_script(path: Path):
    """A script of bench/ or scripts/ as a module (they are files, not an installed package)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
