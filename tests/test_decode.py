"""The PyAV decoder: frame k is the k-th frame shown, whether decoding starts at the beginning or at a
keyframe found by seeking; a video that stops early is a DecodeError, never a short clip."""
import random
from fractions import Fraction

import av
import numpy as np
import pytest

from curation.frames.video import DecodeError, decode_frames, probe_video


def _write_numbered(path, n: int, gop: int, rate=Fraction(25)) -> None:
    """Frame k is flat grey at level 4k (mod 256), so a decoded frame says which one it is."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": str(gop), "bf": "2", "preset": "ultrafast", "crf": "10"}
        for k in range(n):
            img = np.full((48, 64, 3), (4 * k) % 256, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())


def _which(frame: np.ndarray) -> int:
    return int(round(float(frame.mean()) / 4))


@pytest.mark.parametrize("gop", [1, 7, 250])
def test_frames_are_the_ones_asked_for_from_any_start(tmp_path, gop):
    path = tmp_path / "numbered.mp4"
    _write_numbered(path, 60, gop)
    info = probe_video(path)
    assert (info.status, info.n_frames, info.fps, info.width, info.height) == ("ok", 60, 25.0, 64, 48)
    rng = random.Random(gop)
    for _ in range(12):
        wanted = sorted(rng.sample(range(60), rng.randint(1, 8)))
        got = list(decode_frames(path, wanted + wanted[:1]))  # duplicates are read once
        assert [k for k, _ in got] == wanted
        assert [_which(f) for _, f in got] == wanted
    everything = [k for k, _ in decode_frames(path, range(60), threaded=True)]
    assert everything == list(range(60))


def test_a_video_that_ends_early_is_a_decode_error(tmp_path):
    path = tmp_path / "short.mp4"
    _write_numbered(path, 20, 5)
    with pytest.raises(DecodeError, match="frame 25 is missing"):
        list(decode_frames(path, [3, 25]))


def test_unreadable_files_are_a_status_and_a_decode_error(tmp_path):
    text = tmp_path / "page.mp4"
    text.write_text("<html>404</html>")
    assert probe_video(text).status == "corrupt"
    assert probe_video(text).reason == "cannot open: Invalid data found when processing input"
    with pytest.raises(DecodeError, match="page.mp4: Invalid data"):
        list(decode_frames(text, [0]))
