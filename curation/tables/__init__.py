"""Versioned tables: one protocol (`TableStore`), backends chosen by name (see `open_store`)."""
from curation.tables.protocol import Edit, Revision, TableSpec, TableStore
from curation.tables.refs import TableRef, parse_ref

__all__ = ["Edit", "Revision", "TableSpec", "TableStore", "TableRef", "parse_ref"]
