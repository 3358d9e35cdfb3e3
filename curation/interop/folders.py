"""`folders`: a class-folder tree, `<split>/<class>/<video>` (torchvision's DatasetFolder, PyTorchVideo's
LabeledVideoDataset, FiftyOne's VideoClassificationDirectoryTree, `curate ingest folders`). Videos are hard links
(symbolic links across file systems) unless copies are asked for; the provenance sits in curate-export.json."""
from __future__ import annotations

from pathlib import Path

from curation.errors import BadInput
from curation.fsutil import atomic_write_json
from curation.interop.base import Curated, Format, flat_name, kept_videos, note_video_level, place_media

PROVENANCE_FILE = "curate-export.json"


class ClassFolders(Format):
    name = "folders"
    consumer = "torchvision / PyTorchVideo class-folder datasets, FiftyOne VideoClassificationDirectoryTree"

    def write(self, curated: Curated, out: Path, copy: bool) -> list[Path]:
        videos = kept_videos(curated)
        segments = [v.video_id for v in videos if v.start_s is not None or v.end_s is not None]
        if segments:
            raise BadInput(f"{len(segments)} video(s) are segments of files ({segments[0]}, …): a folder tree holds "
                           "whole files", "write kinetics-csv, hf or manifest-csv, which hold segments")
        note_video_level(curated, self.name)
        if any(abs(v.weight - 1) > 1e-6 for v in videos):
            curated.notes.append("weights other than 0 and 1 are not in a folder tree (weight-0 samples are left "
                                 "out); kinetics-csv and hf hold them")
        classes = curated.task.classes
        files = []
        for v in videos:
            if v.label is None:
                continue  # an unlabelled video has no class folder
            dest = out / (v.split or "train") / classes[v.label] / (flat_name(v.video_id) + v.path.suffix.lower())
            place_media(v.path, dest, copy)
            files.append(dest)
        atomic_write_json(out / PROVENANCE_FILE, curated.provenance)
        return files
