"""Interchange formats: a curated revision written where users train (class folders, Kinetics CSV, Hugging Face
datasets, FiftyOne, ActivityNet JSON), and those formats read back as datasets. One module per format; adding one
is a module, a line here, and its round-trip test (tests/test_interop.py)."""
from curation.interop.activitynet import ActivityNetJson, read_activitynet
from curation.interop.base import Curated, Format
from curation.interop.fiftyone import FiftyOneTemporal, read_fiftyone
from curation.interop.folders import ClassFolders
from curation.interop.hf import HuggingFace, read_hf
from curation.interop.kinetics import KineticsCsv, read_kinetics

FORMATS: dict[str, Format] = {f.name: f for f in (ClassFolders(), KineticsCsv(), HuggingFace(), FiftyOneTemporal(),
                                                ActivityNetJson())}

__all__ = ["Curated", "FORMATS", "Format", "read_activitynet", "read_fiftyone", "read_hf", "read_kinetics"]
