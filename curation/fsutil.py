"""Small filesystem helpers for atomic writes and inter-process locks."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from curation.errors import BadInput, NotFound
from curation.faults import fault_point


def _umask() -> int:
    """This process's umask, read without changing it (os.umask would, for every thread)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def _write_tmp(path: Path, data: bytes) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600: a workspace is shared as the umask says
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(tmp)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.replace(_write_tmp(path, data), path)


def output_target(path: str | Path) -> Path:
    """Where a file the user named (`-o PATH`) is written: through a symlink to its target (the link stays a
    link), never over something that is not a regular file (a device, a fifo, a socket, a folder), and only
    into a folder that exists. BadInput says which, before anything is written."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        kind = "a folder" if target.is_dir() else "not a regular file (a device, fifo or socket)"
        raise BadInput(f"{path} is {kind}", "name a file to write")
    if not target.parent.is_dir():
        raise BadInput(f"folder {target.parent} does not exist", "create it first, or write somewhere else")
    return target


def write_output(path: str | Path, data: bytes) -> Path:
    """`data` written atomically to the file the user named (see `output_target`); returns where it went. A
    folder or file that cannot be written (read-only, a kernel file) is one BadInput."""
    target = output_target(path)
    try:
        atomic_write_bytes(target, data)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}", "write somewhere you may write") from None
    return target


@contextlib.contextmanager
def output_folder(path: str | Path):
    """A folder the user named (`-o DIR`) filled atomically: the caller writes into a hidden sibling that takes
    the name only when everything is in it, so a failure or a kill leaves nothing under that name. Refused
    before anything is written: a path that is a file, a folder that is not empty, a parent that does not exist."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_dir():
        raise BadInput(f"{path} is a file", "name a new or empty folder to write")
    if target.is_dir() and any(target.iterdir()):
        raise BadInput(f"folder {path} is not empty", "name a new or empty folder, or remove this one first")
    if not target.parent.is_dir():
        raise BadInput(f"folder {target.parent} does not exist", "create it first, or write somewhere else")
    try:
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}", "write somewhere you may write") from None
    try:
        os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700
        yield staging
        if target.is_dir():
            target.rmdir()  # empty (checked above): the finished folder takes its place
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def json_bytes(obj) -> bytes:
    """How metadata files are written: indented, keys sorted."""
    return json.dumps(obj, indent=2, sort_keys=True).encode()


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, json_bytes(obj))


def create_json_exclusive(path: Path, obj) -> None:
    """Write a complete file at `path` only if nothing is there yet (FileExistsError otherwise)."""
    create_bytes_exclusive(path, json_bytes(obj))


def create_bytes_exclusive(path: Path, data: bytes) -> None:
    """Write a complete file at `path` only if nothing is there yet (FileExistsError otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _write_tmp(path, data)
    fault_point("fsutil.before_link")
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


def input_file(path, what: str, fix: str) -> Path:
    """`path` as a file to read: NotFound when nothing is there, BadInput when it is a folder (or a device)."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"there is no {what} {path}", fix)
    if not path.is_file():
        raise BadInput(f"{what} {path} is {'a folder' if path.is_dir() else 'not a regular file'}", fix)
    return path


def read_json(path: Path, fix: str = "repair the file from a backup, or remove it"):
    """A JSON file (a UTF-8 byte order mark is fine); NotFound when there is no such file, BadInput naming the
    file when it is a folder, empty, not UTF-8, not JSON (a copy cut short, a hand edit) or nested too deep to
    read."""
    return parse_json(input_file(path, "file", fix).read_bytes(), path, fix)


def parse_json(data: bytes, where, fix: str):
    """JSON bytes (a UTF-8 byte order mark is fine), or BadInput naming `where` they came from when they are
    empty, not UTF-8, not JSON or nested too deep to read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{where} is not UTF-8 text", fix) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problem = "is empty" if not text.strip() else f"is not valid JSON (line {exc.lineno}: {exc.msg})"
        raise BadInput(f"{where} {problem}", fix) from None
    except RecursionError:
        raise BadInput(f"{where} nests lists or objects too deeply to read", fix) from None


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
