"""The embedded, offline backend: table content in Lance versions (tables.py); runs in the local run store."""
