"""The dataset layouts curate reads and writes, one module each: its reader (files → `Source`), and its `Layout`
(clips of a video, label fields of the videos table, the export writer). Adding a layout is one module, one line
here, and its round-trip test (tests/test_layouts.py)."""
from curation.ingest.layouts.base import Layout, Source, VideoEntry
from curation.ingest.layouts.events import EVENT_CLASSES, Events, read_events
from curation.ingest.layouts.folders import Folders, read_folders
from curation.ingest.layouts.manifest import Manifest, read_manifest
from curation.ingest.layouts.nexar import NEXAR_CLASSES, Nexar, read_nexar
from curation.ingest.layouts.qa import QA, QA_CONTEXT_S, read_qa

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (Nexar(), Folders(), Manifest(), Events(), QA())}

__all__ = ["EVENT_CLASSES", "LAYOUTS", "Layout", "NEXAR_CLASSES", "QA_CONTEXT_S", "Source", "VideoEntry",
           "read_events", "read_folders", "read_manifest", "read_nexar", "read_qa"]
