"""Versioned tables: one protocol (`TableStore`), backends chosen by name (see `open_store`)."""
from curation.tables.protocol import Display, Edit, Revision, TableSpec, TableStore
from curation.tables.refs import TableRef, parse_ref

__all__ = ["Display", "Edit", "Revision", "TableSpec", "TableStore", "TableRef", "parse_ref"]
