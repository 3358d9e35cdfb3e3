"""Check a `curate export --format fiftyone` folder with FiftyOne's own importer (FiftyOne's database cannot run
on every machine, and its package pins older web libraries than curate's, so it is not a test dependency):

    uv run --no-project --with fiftyone python scripts/check_fiftyone_export.py DIR [DIR ...]

Every video of labels.json must be found, and every clip (and every labelled time curate wrote as a detection of
its own) must come back as a TemporalDetection with the label name, the 1-based support and the attributes
written. Prints one line per video and exits 1 on a mismatch."""
import json
import sys
from pathlib import Path

import fiftyone.utils.data as foud


KEYS = ("clip_id", "weight", "mark", "time_s")  # a clip's attributes, or a labelled time's


def check(folder: Path) -> int:
    document = json.loads((folder / "labels.json").read_text())
    importer = foud.FiftyOneTemporalDetectionDatasetImporter(str(folder))
    problems, videos = [], 0
    with importer:
        for video_path, _, label, _ in importer:
            videos += 1
            name = Path(video_path).stem
            written = document["labels"][name]
            read = label.detections
            got = [(d.label, list(d.support), *(d[k] if d.has_field(k) else None for k in KEYS)) for d in read]
            want = [(document["classes"][w["label"]], w["support"], *(w["attributes"].get(k) for k in KEYS))
                    for w in written]
            ok = got == want and Path(video_path).is_file()
            problems += [] if ok else [name]
            print(f"{'ok ' if ok else 'BAD'} {name}: {len(read)} temporal detections, {Path(video_path).name}")
    if videos != len(document["labels"]):
        problems.append(f"{len(document['labels'])} videos written, {videos} imported")
    print(f"{videos} videos imported by FiftyOne's importer; classes {importer.get_dataset_info()['classes']}; "
          + ("all match" if not problems else f"mismatches: {problems}"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(max(check(Path(folder)) for folder in sys.argv[1:]))
