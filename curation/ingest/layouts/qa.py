"""Video QA (RoadBuddy layout): a JSON list of questions about videos; each question is one sample with one clip
over its support frames, its answer's letter the label. Exported back as the same JSON."""
from __future__ import annotations

import json
import re
from pathlib import Path

from curation.csvio import nonneg_float
from curation.errors import BadInput, NotFound
from curation.frames.video import Probe
from curation.fsutil import read_json
from curation.ingest.layouts.base import Layout, Source, VideoEntry, check_unique, write_text


class QA(Layout):
    name = "qa"
    one_clip_each = True
    extra_columns = ("question", "choices", "answer", "support_frames", "video_path")
    export_format = "qa-json"

    def too_short(self, probe: Probe, why: str) -> Probe:
        return probe  # its one clip spans the segment evenly, whatever its length

    def clips(self, v: VideoEntry, probe: Probe, options, rule, params: dict, fold: int) -> list[dict]:
        """A sample's one clip: the clip's frames spread evenly over its segment (the whole video without one);
        the clip id is the sample's id."""
        n_frames = options.clip.n_frames
        timeline = probe.timeline
        first = timeline.nearest(v.start_s) if v.start_s is not None else 0
        last = probe.n_frames - 1 if v.end_s is None else timeline.nearest(v.end_s)
        stride = max(1, (last - first) // max(1, n_frames - 1))
        end = min(last, first + stride * (n_frames - 1))
        return [{"clip_id": v.video_id, "video_id": v.video_id, "split": v.split, "fold": fold, "end_frame": end,
                 "stride": stride, "n_frames": n_frames, "end_time_s": round(timeline.time_of(end), 4),
                 "time_to_event_s": None, "label": v.label, "weight": 1.0, "eval_window": None, **v.extra}]

    def write(self, task, samples: list[dict], videos: dict, out: Path) -> list[Path]:
        """Labelled questions to `out`, unanswered (test) ones to `<out stem>-test.json`."""
        labelled, test = [], []
        for s in samples:
            choices = json.loads(s["choices"])
            item = {"id": s["clip_id"], "question": s["question"], "choices": choices,
                    "support_frames": json.loads(s["support_frames"]), "video_path": s["video_path"]}
            if s["label"] is not None:
                letter = task.classes[s["label"]]
                item["answer"] = next((c for c in choices if c.strip().upper().startswith(letter)), letter)
            (test if s["split"] == "test" else labelled).append(item)
        files = [write_text(out, json.dumps({"data": labelled}, ensure_ascii=False, indent=1))]
        if test:
            files.append(write_text(out.with_name(f"{out.stem}-test{out.suffix}"),
                                    json.dumps({"data": test}, ensure_ascii=False, indent=1)))
        return files


QA_CONTEXT_S = 0.5  # seconds of context on each side of a question's support frames


def read_qa(json_path: str | Path, test_json: str | Path | None = None, context_s: float = QA_CONTEXT_S) -> Source:
    """Video QA (RoadBuddy layout): `{"data": [{"id", "question", "choices": ["A. …", …], "answer": "B. …",
    "support_frames": [seconds], "video_path"}]}`. Each question is a sample: one clip over its support frames
    (± `context_s`), or over the whole video when it has none; the answer's letter is the label. The optional
    test file has no answers (split test)."""
    entries = []
    for path, split in ((Path(json_path), None), (Path(test_json) if test_json else None, "test")):
        if path is None:
            continue
        if not path.is_file():
            raise NotFound(f"{path} does not exist", "give the path of a QA JSON file")
        data = read_json(path, 'give a JSON object {"data": [...]} of questions')
        data = data.get("data") if isinstance(data, dict) else None
        if not isinstance(data, list):
            raise BadInput(f"{path.name} is not a QA file", 'give a JSON object {"data": [...]} of questions')
        entries += [(path, k, item, split) for k, item in enumerate(data)]
    if not entries:
        raise BadInput(f"{Path(json_path).name} has no questions", "add questions to its data list")
    letters = max(len(_qa_field(item, "choices", list, p, k)) for p, k, item, _ in entries)
    classes = [chr(ord("A") + i) for i in range(letters)]
    videos = []
    for path, k, item, split in entries:
        where = f"{path.name} question {k + 1}"
        qid = str(_qa_field(item, "id", (str, int), path, k)).strip()  # " q1 " is q1, as in a CSV
        video = _qa_field(item, "video_path", str, path, k).strip()
        choices = _qa_field(item, "choices", list, path, k)
        support = item.get("support_frames") or []
        if not isinstance(support, list):
            raise BadInput(f"{where}: support_frames {support!r} is not a list of seconds", "fix the JSON")
        support = sorted(nonneg_float(t, f"{where}: support frame", "fix the JSON") for t in support)
        answer = item.get("answer")
        label = None
        if answer is not None and split != "test":
            label = _answer_index(answer, choices, where)
        start, end = (max(0.0, support[0] - context_s), support[-1] + context_s) if support else (None, None)
        extra = {"question": str(item.get("question", "")), "choices": json.dumps(choices, ensure_ascii=False),
                 "answer": None if answer is None else str(answer), "support_frames": json.dumps(support),
                 "video_path": video}
        videos.append(VideoEntry(qid, video, label=label, split=split, group=video, start_s=start, end_s=end,
                                 extra=extra))
    check_unique(videos, Path(json_path))
    files = [Path(json_path)] + ([Path(test_json)] if test_json else [])
    return Source("qa", Path(json_path).parent, classes, videos, files, params={"context_s": context_s})


_LETTERED = re.compile(r"^\s*([A-Za-z])\s*[.):]\s*(.*)$", re.S)  # "B. turn left", "b) turn left", "B:"


def _answer_index(answer, choices: list, where: str) -> int:
    """The choice an answer names: its letter ("B", "B. …"), or its text with or without the letter. An answer
    that names no choice, or two, is refused rather than read by its first character."""
    text = str(answer).strip()
    texts = [str(c).strip() for c in choices]
    bare = [m[2].strip() if (m := _LETTERED.match(t)) else t for t in texts]
    found = {k for k, t in enumerate(texts) if t.casefold() == text.casefold()}
    if not found:
        m = _LETTERED.match(text)
        letter, rest = (m[1], m[2].strip()) if m else (text, "") if len(text) == 1 and text.isalpha() else ("", "")
        k = ord(letter.upper()) - ord("A") if letter else -1
        if 0 <= k < len(choices) and (not rest or rest.casefold() == bare[k].casefold()):
            found = {k}
        else:
            found = {k for k, t in enumerate(bare) if t.casefold() == text.casefold()}
    if len(found) != 1:
        raise BadInput(f"{where}: answer {text[:80]!r} is not one of its {len(choices)} choices",
                       "give the answer as its letter (e.g. 'B'), or as the text of one choice")
    return found.pop()


def _qa_field(item, name: str, kind, path: Path, k: int):
    value = item.get(name) if isinstance(item, dict) else None
    if not isinstance(value, kind) or value in ("", []):
        expected = getattr(kind, "__name__", "value")
        raise BadInput(f"{path.name} question {k + 1}: {name!r} is missing or not a {expected}", "fix the JSON")
    return value
