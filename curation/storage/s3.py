"""A workspace in an S3 bucket (AWS or any S3-compatible server: MinIO, Ceph, moto), through boto3 with the
standard variables (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).

An object is written whole by one PUT. Created-if-absent is a conditional PUT (If-None-Match: *), which S3 and the
servers above refuse with 412 when the key exists. Locks are leases: an object naming its holder and when the lease
runs out, created with that conditional PUT, renewed by its holder (If-Match on the object's ETag) while it lives,
deleted on release; a holder that dies stops renewing, and once the lease has run out the next taker replaces it
(If-Match again, so only one does)."""
from __future__ import annotations

import contextlib
import functools
import json
import os
import threading
import time
import uuid

from curation.errors import BadInput, NotFound
from curation.storage.base import Held

CONDITION_FAILED = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def lease_seconds() -> float:
    """How long a lease lasts unrenewed: how long a dead holder blocks the next (CURATE_LEASE_S, default 30)."""
    return float(os.environ.get("CURATE_LEASE_S") or 30)


# The variables a client is made from: a process keeps one client per setting of them (boto3's clients are
# thread-safe; each takes ~15 ms to make, and every storage of a workspace, every sub-prefix, needs one).
CLIENT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                    "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")


def shared_client():
    """This process's S3 client for the environment as it is now (AWS_ENDPOINT_URL and the credentials)."""
    return _client_for(os.getpid(), *(os.environ.get(k) for k in CLIENT_VARIABLES))


@functools.lru_cache(maxsize=8)
def _client_for(pid: int, *settings):  # the pid: a forked child makes its own, never its parent's connections
    import boto3

    return boto3.client("s3")


class S3Storage:
    def __init__(self, bucket: str, prefix: str = "", client=None):
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self._client = client  # None: the process's shared client

    @classmethod
    def from_uri(cls, uri: str) -> "S3Storage":
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        if not bucket:
            raise BadInput(f"{uri} names no bucket", "write s3://BUCKET/PREFIX")
        return cls(bucket, prefix)

    @property
    def client(self):
        return self._client or shared_client()

    @property
    def root(self) -> str:
        return self.uri()

    def key(self, key: str) -> str:
        return "/".join(p for p in (self.prefix, key.strip("/")) if p)

    def uri(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self.key(key)}".rstrip("/")

    def _call(self, method: str, **kwargs):
        """A call of the S3 client, its failures as the library's: a missing key as FileNotFoundError, a refused
        condition as FileExistsError, a missing bucket, credentials or server as one line that says the fix."""
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(self.uri(kwargs.get("Key", ""))) from None
            if code in CONDITION_FAILED:
                raise FileExistsError(self.uri(kwargs.get("Key", ""))) from None
            if code == "NoSuchBucket":
                raise NotFound(f"there is no bucket {self.bucket}", "create it first, or name another") from None
            raise BadInput(f"{self.uri()}: {code} from the object store ({method})",
                           "check the bucket's permissions and the credentials") from None
        except NoCredentialsError:
            raise BadInput(f"no credentials for {self.uri()}",
                           "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile)") from None
        except EndpointConnectionError as exc:
            raise BadInput(f"cannot reach the object store at {exc.kwargs.get('endpoint_url')}",
                           "start it, or set AWS_ENDPOINT_URL to its address") from None

    def read_bytes(self, key: str) -> bytes:
        return self._call("get_object", Key=self.key(key))["Body"].read()

    def write_bytes(self, key: str, data: bytes) -> None:
        self._call("put_object", Key=self.key(key), Body=data)

    def create_exclusive(self, key: str, data: bytes) -> None:
        self._call("put_object", Key=self.key(key), Body=data, IfNoneMatch="*")

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=self.key(key))
            return True
        except FileNotFoundError:
            return False

    def version(self, key: str) -> tuple:
        try:
            return (self._call("head_object", Key=self.key(key))["ETag"],)
        except FileNotFoundError:
            return ()

    def list(self, prefix: str) -> list[str]:
        start = self.key(prefix) + "/" if self.key(prefix) else ""
        names, token = set(), None
        while True:
            page = self._call("list_objects_v2", Prefix=start, Delimiter="/",
                              **({"ContinuationToken": token} if token else {}))
            names |= {p["Prefix"][len(start):].rstrip("/") for p in page.get("CommonPrefixes", [])}
            names |= {o["Key"][len(start):] for o in page.get("Contents", [])}
            token = page.get("NextContinuationToken")
            if not token:
                return sorted(n for n in names if n and not n.startswith("."))

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=self.key(key))

    def sub(self, prefix: str) -> "S3Storage":
        return S3Storage(self.bucket, self.key(prefix), self._client)

    def remove_temporaries(self, prefix: str) -> None:
        pass  # a PUT lands whole or not at all

    # ---- leases ---------------------------------------------------------------------------------------------
    def _lease(self, key: str) -> tuple[dict, str] | None:
        """The lease at `key` and its ETag, or None."""
        try:
            answer = self._call("get_object", Key=self.key(key))
        except FileNotFoundError:
            return None
        try:
            found = json.loads(answer["Body"].read())
        except ValueError:
            found = {}
        return (found if isinstance(found, dict) else {}), answer["ETag"]

    def _take(self, key: str, holder: dict) -> tuple[str, str] | None:
        """Take the lease if it is free or has run out: (its token, its ETag), or None when a live holder has it."""
        token = uuid.uuid4().hex
        body = json.dumps({**holder, "lease": token, "expires": time.time() + lease_seconds()}).encode()
        try:
            return token, self._call("put_object", Key=self.key(key), Body=body, IfNoneMatch="*")["ETag"]
        except FileExistsError:
            pass
        found = self._lease(key)
        if found is None or float(found[0].get("expires", 0)) > time.time():
            return None  # held by a live holder, or released meanwhile (the next try takes it)
        try:  # run out: replace it, on the condition that nobody else replaced it first
            return token, self._call("put_object", Key=self.key(key), Body=body, IfMatch=found[1])["ETag"]
        except FileExistsError:
            return None

    @contextlib.contextmanager
    def _held(self, key: str, holder: dict, taken: tuple[str, str]):
        """Renew the lease while the block runs (a third of its length apart); release it after."""
        token, etag = taken
        done = threading.Event()

        def renew():
            nonlocal etag
            while not done.wait(lease_seconds() / 3):
                body = json.dumps({**holder, "lease": token, "expires": time.time() + lease_seconds()}).encode()
                try:
                    etag = self._call("put_object", Key=self.key(key), Body=body, IfMatch=etag)["ETag"]
                except (FileExistsError, FileNotFoundError, BadInput):
                    return  # lost (this process stalled past its lease): the next holder's lease stands

        thread = threading.Thread(target=renew, name=f"lease {key}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            found = self._lease(key)
            if found and found[0].get("lease") == token:
                self.delete(key)

    @contextlib.contextmanager
    def lock(self, key: str):
        holder = {"pid": os.getpid(), "host": os.uname().nodename}
        wait = 0.05
        while (taken := self._take(key, holder)) is None:
            time.sleep(wait)
            wait = min(wait * 2, 1.0)
        with self._held(key, holder, taken):
            yield

    @contextlib.contextmanager
    def hold(self, key: str, holder: dict):
        taken = self._take(key, holder)
        if taken is None:
            raise Held(f"{key} is held by another process", "wait for it to end, or stop that process first",
                       self.holder(key))
        with self._held(key, holder, taken):
            yield

    def holder(self, key: str) -> dict | None:
        found = self._lease(key)
        if found is None or float(found[0].get("expires", 0)) <= time.time():
            return None
        return {k: v for k, v in found[0].items() if k not in ("lease", "expires")}
