"""The interface every workspace storage keeps, and JSON helpers over it. Keys are '/'-separated paths relative
to the workspace root."""
from __future__ import annotations

from typing import ContextManager, Protocol

from curation.errors import Conflict, NotFound
from curation.fsutil import json_bytes, parse_json


class Held(Conflict):
    """Something (a run, a table's write) is held by another process; `holder` says who, as it wrote."""

    def __init__(self, problem: str, fix: str, holder: dict | None = None):
        super().__init__(problem, fix)
        self.holder = holder or {}


class Storage(Protocol):
    root: object  # a folder's Path, or the bucket prefix's URI

    def uri(self, key: str = "") -> str:
        """What names `key` to other tools (Lance, messages): a local path or an object URL."""

    def read_bytes(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""

    def write_bytes(self, key: str, data: bytes) -> None:
        """Readers see the old object or the new one, never a part."""

    def create_exclusive(self, key: str, data: bytes) -> None:
        """Write `key` only if nothing is there yet (FileExistsError otherwise), complete or not at all."""

    def exists(self, key: str) -> bool: ...

    def version(self, key: str) -> tuple:
        """What changes whenever `key` is written again (a key for caches); () when it is not there."""

    def list(self, prefix: str) -> list[str]:
        """Names of the files and folders directly under `prefix` (sorted; none when there is no such folder)."""

    def delete(self, key: str) -> None:
        """Remove `key` if it is there (and its folder, when that leaves it empty)."""

    def sub(self, prefix: str) -> "Storage":
        """The storage of what is under `prefix` (a workspace's tables/, runs/)."""

    def remove_temporaries(self, prefix: str) -> None:
        """Drop what a killed write left half-done directly under `prefix` (an object store leaves nothing)."""

    def lock(self, key: str) -> ContextManager:
        """An exclusive lock between processes (and machines, on an object store), waited for; a holder that
        dies stops holding it (at once on a local disk; once its lease runs out on an object store)."""

    def hold(self, key: str, holder: dict) -> ContextManager:
        """Like `lock` without waiting: `Held` (naming the holder) when another process holds `key`."""

    def holder(self, key: str) -> dict | None:
        """Who holds `key` now (what it wrote in `hold`), or None when no live process does."""


def read_json(storage: Storage, key: str, fix: str = "repair the file from a backup, or remove it"):
    """A JSON object of the storage; NotFound when absent, BadInput naming it when it is not JSON."""
    try:
        data = storage.read_bytes(key)
    except FileNotFoundError:
        raise NotFound(f"there is no file {storage.uri(key)}", fix) from None
    return parse_json(data, storage.uri(key), fix)


def write_json(storage: Storage, key: str, obj) -> None:
    storage.write_bytes(key, json_bytes(obj))


def create_json_exclusive(storage: Storage, key: str, obj) -> None:
    storage.create_exclusive(key, json_bytes(obj))
