"""The 3LC backend: the client adapter (client.py, the only code that touches `tlc`), tables as 3LC lineage
chains (tables.py) and runs mirrored to 3LC runs (runs.py). Imported only by the backend registry."""
