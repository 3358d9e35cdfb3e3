"""Where a workspace's files live: a folder on this machine or a prefix in an object store (`s3://bucket/prefix`),
behind one small interface (`Storage`) that the table registry, the run store and the frame cache write through.
Lance opens its datasets from `Storage.uri` itself."""
from __future__ import annotations

from curation.storage.base import Held, Storage, create_json_exclusive, read_json, write_json
from curation.storage.local import LocalStorage

def is_remote(root) -> bool:
    """Whether a workspace root names an object store rather than a folder."""
    return isinstance(root, str) and "://" in root


def as_storage(root) -> Storage:
    """A storage as it is, a folder's path as the storage of that folder."""
    return root if hasattr(root, "read_bytes") and hasattr(root, "uri") else open_storage(root)


def open_storage(root) -> Storage:
    """The storage of a workspace root: `s3://bucket/prefix`, or a folder."""
    if not is_remote(root):
        return LocalStorage(root)
    if root.startswith("s3://"):
        from curation.storage.s3 import S3Storage

        return S3Storage.from_uri(root)
    from curation.errors import BadInput

    raise BadInput(f"workspace {root} is in a store curate cannot reach yet ({root.split('://')[0]}://)",
                   "use a folder or an s3:// bucket (any S3-compatible server, through AWS_ENDPOINT_URL)")


__all__ = ["Held", "Storage", "LocalStorage", "as_storage", "open_storage", "is_remote", "read_json", "write_json",
           "create_json_exclusive"]
