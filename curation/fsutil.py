"""Small filesystem helpers for atomic writes and inter-process locks."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from pathlib import Path


def _write_tmp(path: Path, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(tmp)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(_write_tmp(path, data), path)


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, sort_keys=True).encode())


def create_json_exclusive(path: Path, obj) -> None:
    """Write a complete file at `path` only if nothing is there yet (FileExistsError otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(path, json.dumps(obj, indent=2, sort_keys=True).encode())
    try:
        os.link(tmp, path)  # atomic create-if-absent, and the content is already complete
    finally:
        tmp.unlink()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json(path: Path):
    return json.loads(Path(path).read_text())


@contextlib.contextmanager
def file_lock(path: Path):
    """Exclusive lock between processes; released by the OS if the holder is killed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
