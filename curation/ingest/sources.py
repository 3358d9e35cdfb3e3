"""Dataset layouts → a list of videos with their labels. Nothing here touches the video files."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from curation.csvio import nonneg_float, read_rows
from curation.errors import BadInput, NotFound
from curation.fsutil import read_json
from curation.frames.video import VIDEO_EXTENSIONS

NEXAR_CLASSES = ["normal", "collision"]


@dataclass
class VideoEntry:
    video_id: str
    path: str  # relative to the source root, or absolute
    label: int | None = None  # class index (Nexar: target)
    split: str | None = None  # given by the layout (test, or a manifest's split) or assigned later
    group: str = ""  # videos of one group never straddle train and val
    event_s: float | None = None
    alert_s: float | None = None
    start_s: float | None = None  # a manifest segment of the file
    end_s: float | None = None
    extra: dict = field(default_factory=dict)  # layout columns its clips carry (QA: question, choices, answer)
    events: tuple[float, ...] = ()  # event timestamps (seconds), for the events layout


@dataclass
class Source:
    kind: str  # nexar | folders | manifest
    root: Path
    classes: list[str]
    videos: list[VideoEntry]
    input_files: list[Path] = field(default_factory=list)  # CSVs whose bytes define the input
    event_task: bool = False  # Nexar-style: labels come from event/alert times with a label rule
    one_clip_each: bool = False  # QA: each entry is one sample, one clip spanning its segment evenly
    extra_columns: tuple[str, ...] = ()  # string columns of VideoEntry.extra the clips table carries
    params: dict = field(default_factory=dict)  # layout settings that shape samples (part of the fingerprint)

    @property
    def label_column(self) -> str:
        return "target" if self.event_task else "label"


def _time(row: dict, column: str, path: Path) -> float | None:
    value = row.get(column, "")
    return None if value == "" else nonneg_float(value, f"{path.name} line {row['_line']}: {column}")


def _check_root(root: Path) -> Path:
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise BadInput(f"dataset root {root} is a file, not a folder", "give the folder that holds the dataset")
    if not root.is_dir():
        raise NotFound(f"dataset root {root} does not exist", "give the folder that holds the dataset")
    return root


def _check_unique(videos: list[VideoEntry], what: Path) -> None:
    seen = set()
    for v in videos:
        if v.video_id in seen:
            raise BadInput(f"{what.name}: video id {v.video_id!r} appears twice", "ids must be unique")
        seen.add(v.video_id)


def read_nexar(root: str | Path) -> Source:
    """`train.csv` (id,time_of_event,time_of_alert,target) + `test.csv` (id); videos in train/ and test/."""
    root = _check_root(Path(root))
    train_csv, test_csv = root / "train.csv", root / "test.csv"
    videos = []
    for row in read_rows(train_csv, ["id", "target"], "nexar train.csv"):
        line = row["_line"]
        if row["target"] not in ("0", "1"):
            raise BadInput(f"train.csv line {line}: target {row['target']!r} is not 0 or 1", "fix the CSV")
        target = int(row["target"])
        event, alert = _time(row, "time_of_event", train_csv), _time(row, "time_of_alert", train_csv)
        if target == 1 and event is None:
            raise BadInput(f"train.csv line {line}: positive video {row['id']} has no time_of_event",
                           "give the event time in seconds")
        if not row["id"]:
            raise BadInput(f"train.csv line {line}: empty id", "fix the CSV")
        if target == 1 and alert is not None and alert > event:
            raise BadInput(f"train.csv line {line}: video {row['id']} has its alert ({alert:g} s) after its event "
                           f"({event:g} s)", "the alert comes before the event: fix the times")
        videos.append(VideoEntry(row["id"], f"train/{row['id']}.mp4", label=target, group=row["id"],
                                 event_s=event if target else None, alert_s=alert if target else None))
    if not videos:
        raise BadInput(f"{train_csv} has no rows", "add one row per training video")
    inputs = [train_csv]
    if test_csv.exists():
        inputs.append(test_csv)
        for row in read_rows(test_csv, ["id"], "nexar test.csv"):
            if not row["id"]:
                raise BadInput(f"test.csv line {row['_line']}: empty id", "fix the CSV")
            videos.append(VideoEntry(row["id"], f"test/{row['id']}.mp4", split="test", group=row["id"]))
    _check_unique(videos, train_csv)
    return Source("nexar", root, NEXAR_CLASSES, videos, inputs, event_task=True)


_UCF_GROUP = re.compile(r"_g(\d+)_c\d+$")


def read_folders(root: str | Path) -> Source:
    """One sub-folder per class (UCF50-style). UCF names `v_Class_gNN_cMM` are grouped by gNN so that
    clips of one actor/scene group never straddle train and val."""
    root = _check_root(Path(root))
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    videos = []
    classes = []
    for class_dir in class_dirs:
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        if not files:
            continue
        classes.append(class_dir.name)
        for f in files:
            rel = f.relative_to(root).as_posix()
            m = _UCF_GROUP.search(f.stem)
            group = f"{class_dir.name}/g{m[1]}" if m else rel
            videos.append(VideoEntry(rel.rsplit(".", 1)[0], rel, label=len(classes) - 1, group=group))
    if len(classes) < 2:
        raise BadInput(f"{root} has {len(classes)} class folder(s) with videos",
                       "give a folder with one sub-folder of videos per class (at least two)")
    return Source("folders", root, classes, videos)


def _split(row: dict, where: str) -> str | None:
    """A row's optional split column: train, val, test, or empty (assigned at ingest)."""
    split = row.get("split", "") or None
    if split not in (None, "train", "val", "test"):
        raise BadInput(f"{where}: split {split!r} is not train, val or test", "fix the CSV")
    return split


def read_manifest(csv_path: str | Path) -> Source:
    """CSV `path,label[,split][,start_s,end_s]`; paths relative to the CSV's folder or absolute."""
    csv_path = Path(csv_path)
    rows = read_rows(csv_path, ["path", "label"], "manifest")
    if not rows:
        raise BadInput(f"{csv_path.name} has no rows", "add one row per video")
    classes = sorted({r["label"] for r in rows})
    if len(classes) < 2 or "" in classes:
        raise BadInput(f"{csv_path.name} needs a non-empty label on every row and at least two classes",
                       "fix the label column")
    videos = []
    for row in rows:
        line = row["_line"]
        if not row["path"]:
            raise BadInput(f"{csv_path.name} line {line}: empty path", "give every row the path of its video")
        split = _split(row, f"{csv_path.name} line {line}")
        start, end = _time(row, "start_s", csv_path), _time(row, "end_s", csv_path)
        if start is not None and end is not None and end <= start:
            raise BadInput(f"{csv_path.name} line {line}: end_s must be after start_s", "fix the CSV")
        video_id = row["path"].rsplit(".", 1)[0]
        if start is not None or end is not None:
            video_id += f"#{start or 0:g}-{end if end is not None else 'end'}"
        videos.append(VideoEntry(video_id, row["path"], label=classes.index(row["label"]), split=split,
                                 group=row["path"], start_s=start, end_s=end))
    _check_unique(videos, csv_path)
    return Source("manifest", csv_path.parent, classes, videos, [csv_path])


QA_CONTEXT_S = 0.5  # seconds of context on each side of a question's support frames
QA_COLUMNS = ("question", "choices", "answer", "support_frames", "video_path")


def read_qa(json_path: str | Path, test_json: str | Path | None = None, context_s: float = QA_CONTEXT_S) -> Source:
    """Video QA (RoadBuddy layout): `{"data": [{"id", "question", "choices": ["A. …", …], "answer": "B. …",
    "support_frames": [seconds], "video_path"}]}`. Each question is a sample: one clip over its support frames
    (± `context_s`), or over the whole video when it has none; the answer's letter is the label. The optional
    test file has no answers (split test)."""
    import json

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
    _check_unique(videos, Path(json_path))
    files = [Path(json_path)] + ([Path(test_json)] if test_json else [])
    return Source("qa", Path(json_path).parent, classes, videos, files, one_clip_each=True,
                  extra_columns=QA_COLUMNS, params={"context_s": context_s})


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


EVENT_CLASSES = ["background", "event"]


def read_events(csv_path: str | Path, alpha: float = 0.1, beta: float = 0.1,
                negatives_per_positive: float = 3.0) -> Source:
    """Event timestamps (e.g. split-timer GoPro runs): CSV `path,group,event_s`, one row per event (a row with an
    empty event_s lists a video without events); `group` (track, rider) keeps a group's videos in one split.
    A clip is positive when it ends within an event's window — `alpha` of the gap to the previous event before
    it, `beta` of the gap to the next one after it — negative when it ends outside twice that window, and a
    video keeps at most `negatives_per_positive` negatives per positive (evenly spread). An optional `split`
    column (train, val, test; as `curate export` writes it) fixes a video's split."""
    csv_path = Path(csv_path)
    for name, value, ok in (("alpha", alpha, 0 < alpha <= 0.5), ("beta", beta, 0 < beta <= 0.5),
                            ("negatives per positive", negatives_per_positive, negatives_per_positive > 0)):
        if not ok:
            raise BadInput(f"{name} = {value!r} is invalid", "use a fraction in (0, 0.5]" if name != \
                           "negatives per positive" else "use a number above 0, e.g. 3")
    rows = read_rows(csv_path, ["path", "group", "event_s"], "events")
    if not rows:
        raise BadInput(f"{csv_path.name} has no rows", "add one row per event (or per video without events)")
    by_path: dict[str, tuple[str, str | None, list[float]]] = {}
    for row in rows:
        where = f"{csv_path.name} line {row['_line']}"
        if not row["path"] or not row["group"]:
            raise BadInput(f"{where}: empty path or group", "give every row its video and its group")
        split = _split(row, where)
        group, first_split, events = by_path.setdefault(row["path"], (row["group"], split, []))
        if (group, first_split) != (row["group"], split):
            raise BadInput(f"{where}: {row['path']} is in group {row['group']!r} / split {split!r} here and "
                           f"{group!r} / {first_split!r} before", "give each video one group and one split")
        event = _time(row, "event_s", csv_path)
        if event is not None:
            events.append(event)
    videos = [VideoEntry(path.rsplit(".", 1)[0], path, label=int(bool(events)), split=split, group=group,
                         events=tuple(sorted(set(events)))) for path, (group, split, events) in by_path.items()]
    _check_unique(videos, csv_path)
    return Source("events", csv_path.parent, EVENT_CLASSES, videos, [csv_path],
                  params={"alpha": alpha, "beta": beta, "negatives_per_positive": negatives_per_positive})
