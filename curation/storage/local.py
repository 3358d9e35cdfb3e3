"""A workspace in a folder: files written whole (temp file + rename), created-if-absent by hard link, locked with
the OS's advisory locks (released however the holder ends)."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path

from curation.fsutil import atomic_write_bytes, create_bytes_exclusive, file_lock
from curation.storage.base import Held


class LocalStorage:
    def __init__(self, root):
        self.root = Path(root)

    def path(self, key: str = "") -> Path:
        return self.root / key if key else self.root

    def uri(self, key: str = "") -> str:
        return str(self.path(key))

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        atomic_write_bytes(self.path(key), data)

    def create_exclusive(self, key: str, data: bytes) -> None:
        create_bytes_exclusive(self.path(key), data)

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def version(self, key: str) -> tuple:
        try:
            st = self.path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return ()
        return st.st_ino, st.st_mtime_ns, st.st_size  # a rewrite (rename) is a new inode

    def list(self, prefix: str) -> list[str]:
        try:
            return sorted(e.name for e in os.scandir(self.path(prefix)) if not e.name.startswith("."))
        except (FileNotFoundError, NotADirectoryError):
            return []

    def delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # a folder left empty goes too, as a prefix does in a bucket
            if path.parent != self.root:
                path.parent.rmdir()

    def sub(self, prefix: str) -> "LocalStorage":
        return LocalStorage(self.path(prefix))

    def remove_temporaries(self, prefix: str) -> None:
        for stale in self.path(prefix).glob(".*.tmp"):  # a write killed before its rename or link
            stale.unlink(missing_ok=True)

    def lock(self, key: str):
        return file_lock(self.path(key))

    @contextlib.contextmanager
    def hold(self, key: str, holder: dict):
        """An OS lock on the file, taken without waiting (a reader's check holds it for an instant), and in the
        file who holds it, for whoever finds it taken."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+") as f:
            for _ in range(20):
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    time.sleep(0.01)
            else:
                raise Held(f"{key} is held by another process", "wait for it to end, or stop that process first",
                           self.holder(key))
            f.seek(0)
            f.truncate()
            f.write(json.dumps(holder))
            f.flush()
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def holder(self, key: str) -> dict | None:
        try:
            f = open(self.path(key))
        except OSError:
            return None
        with f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)  # granted only when no holder is alive
                return None
            except BlockingIOError:
                pass
            try:
                found = json.loads(f.read())
                return found if isinstance(found, dict) else {}
            except ValueError:
                return {}
