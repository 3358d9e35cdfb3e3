"""`folders`: a class-folder tree, `<split>/<class>/<video>` (torchvision's DatasetFolder, PyTorchVideo's
LabeledVideoDataset, FiftyOne's VideoClassificationDirectoryTree, `curate ingest folders`). Videos are hard links
(symbolic links across file systems) unless copies are asked for; the provenance sits in curate-export.json."""
from __future__ import annotations

from pathlib import Path

from curation.errors import BadInput
from curation.fsutil import atomic_write_json
from curation.ingest.layouts.base import video_labels
from curation.interop.base import Curated, Format, flat_name, place_media

PROVENANCE_FILE = "curate-export.json"


class ClassFolders(Format):
    name = "folders"
    consumer = "torchvision / PyTorchVideo class-folder datasets, FiftyOne VideoClassificationDirectoryTree"

    video_labels = "votes"
    weights = False

    def write(self, curated: Curated, out: Path, copy: bool) -> list[Path]:
        labels = video_labels(curated.samples)
        segments = [v for v in labels if curated.videos[v].get("start_s") is not None
                    or curated.videos[v].get("end_s") is not None]
        if segments:
            raise BadInput(f"{len(segments)} video(s) are segments of files ({segments[0]}, …): a folder tree holds "
                           "whole files", "write kinetics-csv, hf or manifest-csv, which hold segments")
        files = []
        for video_id, label in sorted(labels.items()):
            if label is None:
                continue  # an unlabelled video has no class folder
            media = curated.media(video_id)
            split = curated.videos[video_id].get("split") or "train"
            dest = out / split / curated.task.classes[label] / (flat_name(video_id) + media.suffix.lower())
            place_media(media, dest, copy)
            files.append(dest)
        atomic_write_json(out / PROVENANCE_FILE, curated.provenance)
        return files
