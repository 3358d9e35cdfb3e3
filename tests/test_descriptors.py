"""Frame descriptors are computed once, at ingest, and kept in the frame cache; suggest reads them."""
import json

import numpy as np

from curation.frames import descriptors
from curation.frames.cache import FrameReader
from curation.task import FRAMES
from curation.workspace import Workspace


def _frames(ws):
    return ws.tables.read(ws.task("nexar").head(ws.tables, FRAMES), ["frame_id", "video_id", "index"])


def test_ingest_keeps_descriptors_and_a_video_decoded_again_gets_new_ones(ws_dir, monkeypatch):
    ws = Workspace.open(ws_dir)
    cache = ws.cache_dir("nexar")
    frames = _frames(ws)
    kept = descriptors.video_descriptors(cache, frames, compute=False)  # what ingest kept, nothing computed
    assert kept.videos == sorted(set(frames["video_id"].to_pylist()))
    assert all(t.shape[1] == descriptors.SIZE ** 2 and 1 <= len(t) <= descriptors.PER_VIDEO for t in kept.thumbs)
    assert kept.looks.shape == (len(kept.videos), 192)

    decoded = []
    real = FrameReader.images
    monkeypatch.setattr(FrameReader, "images", lambda self, ids, min_side=0: decoded.append(ids) or real(self, ids,
                                                                                                          min_side))
    again = descriptors.video_descriptors(cache, frames)
    assert decoded == [] and all((a == b).all() for a, b in zip(again.thumbs, kept.thumbs))  # read, not computed

    index = json.loads((cache / "videos.json").read_text())  # one video decoded again from a changed file
    video = kept.videos[2]
    index[video]["signature"] = "changed"
    (cache / "videos.json").write_text(json.dumps(index))
    fresh = descriptors.video_descriptors(cache, frames)
    assert len(decoded) == 1 and all(f.startswith(f"{video}:") for f in decoded[0])
    assert fresh.videos == kept.videos and np.allclose(fresh.looks, kept.looks)


def test_a_cache_without_descriptors_gets_them_on_first_read(ws_dir):
    import shutil

    ws = Workspace.open(ws_dir)
    cache = ws.cache_dir("nexar")
    before = descriptors.video_descriptors(cache, _frames(ws), compute=False)
    shutil.rmtree(cache / "descriptors.lance")  # as a cache made before descriptors were kept
    assert descriptors.video_descriptors(cache, _frames(ws), compute=False).videos == []
    after = descriptors.video_descriptors(cache, _frames(ws))
    assert after.videos == before.videos and all((a == b).all() for a, b in zip(after.thumbs, before.thumbs))
    assert (cache / "descriptors.lance").exists()  # kept for the next read
