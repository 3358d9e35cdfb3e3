"""Everything that reads pixels: video files (probe, decode by frame index: `video`), the frame cache of a
dataset (JPEG bytes by frame id in one Lance dataset: `cache`) and the JPEG codec (`jpeg`). Training, ingest, the
dashboard and review all read frames through this package; nothing outside it opens a video (a test keeps it so;
the synthetic generator, which writes videos, has its own encoder)."""
