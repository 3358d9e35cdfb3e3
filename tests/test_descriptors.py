"""Frame descriptors are computed once, at ingest, and kept in the frame cache; suggest reads them."""
import json
import shutil

import numpy as np
import pyarrow.compute as pc

from curation.frames import descriptors
from curation.frames.cache import FrameReader
from curation.task import FRAMES
from curation.workspace import Workspace


def _frames(ws):
    return ws.tables.read(ws.task("nexar").head(ws.tables, FRAMES), ["frame_id", "video_id", "index"])


def _frames_of(frames, asked):
    """The frames rows of the videos asked for, recording each request."""
    def frames_of(todo):
        asked.append(sorted(todo))
        return frames.filter(pc.field("video_id").isin(todo))
    return frames_of


def test_ingest_keeps_descriptors_and_a_video_decoded_again_gets_new_ones(ws_dir, monkeypatch):
    ws = Workspace.open(ws_dir)
    cache = ws.cache("nexar").root
    frames = _frames(ws)
    videos = sorted(set(frames["video_id"].to_pylist()))
    kept = descriptors.video_descriptors(cache, videos)  # what ingest kept, nothing computed
    assert kept.videos == videos
    assert all(t.shape[1] == descriptors.SIZE ** 2 and 1 <= len(t) <= descriptors.PER_VIDEO for t in kept.thumbs)
    assert kept.looks.shape == (len(kept.videos), 192)

    decoded = []
    real = FrameReader.images
    monkeypatch.setattr(FrameReader, "images", lambda self, ids, min_side=0: decoded.append(ids) or real(self, ids,
                                                                                                          min_side))
    asked = []
    again = descriptors.video_descriptors(cache, videos, _frames_of(frames, asked))
    assert asked == [] and decoded == []  # read, not computed
    assert all((a == b).all() for a, b in zip(again.thumbs, kept.thumbs))

    index = json.loads((cache / "videos.json").read_text())  # one video decoded again from a changed file
    video = kept.videos[2]
    index[video]["signature"] = "changed"
    (cache / "videos.json").write_text(json.dumps(index))
    fresh = descriptors.video_descriptors(cache, videos, _frames_of(frames, asked))
    assert asked == [[video]]  # only the stale video's frames were read
    assert len(decoded) == 1 and all(f.startswith(f"{video}:") for f in decoded[0])
    assert fresh.videos == kept.videos and np.allclose(fresh.looks, kept.looks)


def test_a_cache_without_descriptors_gets_them_on_first_read(ws_dir):
    ws = Workspace.open(ws_dir)
    cache = ws.cache("nexar").root
    frames = _frames(ws)
    videos = sorted(set(frames["video_id"].to_pylist()))
    before = descriptors.video_descriptors(cache, videos)
    shutil.rmtree(cache / "descriptors.lance")  # as a cache made before descriptors were kept
    assert descriptors.video_descriptors(cache, videos).videos == []
    after = descriptors.video_descriptors(cache, videos, _frames_of(frames, []))
    assert after.videos == before.videos and all((a == b).all() for a, b in zip(after.thumbs, before.thumbs))
    assert (cache / "descriptors.lance").exists()  # kept for the next read


def test_suggest_reads_no_frame_rows_once_every_video_has_descriptors(ws_dir, monkeypatch):
    from curation.review.evidence import FrameDescriptors

    ws = Workspace.open(ws_dir)
    reads = []
    real = ws.tables.read
    monkeypatch.setattr(ws.tables, "read", lambda revision, columns=None, where=None: reads.append(
        (revision.table, where)) or real(revision, columns, where=where))
    found = FrameDescriptors(ws, "nexar")
    assert len(found.videos) > 0 and [name for name, _ in reads] == ["videos"]

    shutil.rmtree(ws.cache("nexar").root / "descriptors.lance")  # every video missing: its rows are read, filtered
    reads.clear()
    again = FrameDescriptors(ws, "nexar")
    assert again.videos == found.videos and [name for name, where in reads if where is not None] == ["frames"]
