"""The 3LC client adapter: the one module that imports and calls `tlc`, for the backend's tables and runs.

tests/test_tlc_backend.py checks every `tlc.` name and every method call made here (with its keywords) against
the installed 3lc sources, and runs the backend against a stand-in `tlc` that enforces those signatures.
"""
from __future__ import annotations

import contextlib
import io
import logging

import pyarrow as pa

from curation.errors import CurateError, Fix, exception_line


class BackendUnavailable(CurateError):
    """The selected backend cannot be used on this machine."""


def import_tlc():
    try:
        # tlc validates the API key online at import time and logs its own error lines; ours is the one line.
        logging.disable(logging.CRITICAL)
        with contextlib.redirect_stderr(io.StringIO()):
            import tlc  # noqa: F401
    except Exception as exc:  # no key, no network, or not installed: all say the same to the user
        reason = exception_line(exc, 1000).split(". ")[0].removeprefix("API key error: ")
        raise BackendUnavailable(
            f"the 3lc backend needs a usable 3LC API key and network access ({reason[:120]})",
            Fix("log in to 3LC (`3lc login <key>` or TLC_API_KEY), or use the embedded store (backend lance)",
                "use_lance", {"first": "run `3lc login <key>` or set TLC_API_KEY"})) from None
    finally:
        logging.disable(logging.NOTSET)
    return tlc


# What 3LC raises when the service or a table fails, not the API: a table that is not indexed or no longer opens
# (`Table.latest` documents ValueError), a file or the network (OSError), a service error (RuntimeError). Only
# these are caught and said; an API change (AttributeError, TypeError, NameError) propagates, loud.
SERVICE_ERRORS = (OSError, ValueError, RuntimeError)


# -- every tlc name this backend uses --------------------------------------------------------------------------------
# What `TlcClient` uses on instances (attributes, and methods called on an instance so that a subclass's override runs:
# `_InMemoryColumnsTable` overrides `get_column_as_pyarrow_array`, and calling the base `Table` method through the
# class would return nulls). tests/test_tlc_backend.py checks these, every `tlc.` chain and every such method call
# in `TlcClient` (with its keywords) against the installed sources.
TLC_INSTANCE_API = {
    "tlc.Table": ("url", "description", "input_tables", "latest", "delete_rows", "get_column_as_pyarrow_array",
                  "ensure_fully_defined"),
    "tlc._core.objects.tables.from_table.edited_table.EditedTable": ("input_table_url",),
    "tlc._core.object_reference.ObjectReference": ("url",),
    "tlc.Url": ("create_sibling", "create_unique", "to_absolute", "to_str", "exists", "name"),
    "tlc.Run": ("url", "set_parameters", "add_input_table", "add_metrics", "set_status_running",
                "set_status_completed", "set_status_cancelled"),
}


class TlcClient:
    """The one place that touches the `tlc` module (held as `self.tlc`; methods bind it to a local `tlc`)."""

    def __init__(self, module):
        self.tlc = module

    # schemas
    def column_schema(self, role: str, arrow_type: pa.DataType | None = None, classes: list[str] | None = None):
        tlc = self.tlc
        if role == "id":
            return tlc.schemas.StringSchema()
        if role == "label":
            return tlc.schemas.CategoricalLabelSchema(classes=list(classes or []))
        if role == "weight":
            return tlc.schemas.SampleWeightSchema()
        if role == "video_url":
            return tlc.schemas.VideoUrlSchema()
        if role == "image_url":
            return tlc.schemas.ImageSchema(sample_type="url")
        t = arrow_type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return tlc.schemas.StringSchema()
        if pa.types.is_boolean(t):
            return tlc.schemas.BoolSchema()
        if pa.types.is_int32(t):
            return tlc.schemas.Int32Schema()
        if pa.types.is_int64(t):
            return tlc.schemas.Int64Schema()
        if pa.types.is_float32(t):
            return tlc.schemas.Float32Schema()
        if pa.types.is_float64(t):
            return tlc.schemas.Float64Schema()
        return None  # let 3LC infer it

    def metric_schema(self, role: str, dim: int | None = None):
        """Schemas of run metrics columns: id, float, int, probability, embedding (dim), map (a 2-D point)."""
        tlc = self.tlc
        if role == "id":
            return tlc.schemas.StringSchema()
        if role == "int":
            return tlc.schemas.Int32Schema()
        if role == "probability":
            return tlc.schemas.ProbabilitySchema()
        if role == "embedding":
            return tlc.schemas.EmbeddingSchema(shape=dim)
        if role == "map":
            return tlc.schemas.Float32Schema(shape=2, number_role=tlc.constants.NUMBER_ROLE_XY_COMPONENT)
        return tlc.schemas.Float32Schema()

    # tables
    def from_pandas(self, df, *, schema: dict, description: str, input_tables: list[str], project: str | None = None,
                    dataset: str | None = None, table_name: str | None = None, root_url: str | None = None,
                    table_url=None):
        tlc = self.tlc
        if table_url is not None:
            return tlc.Table.from_pandas(df, schema=schema, table_url=table_url, if_exists="raise",
                                         add_weight_column=False, description=description,
                                         input_tables=input_tables or None)
        return tlc.Table.from_pandas(df, schema=schema, project_name=project, dataset_name=dataset,
                                     table_name=table_name, root_url=root_url, if_exists="raise",
                                     add_weight_column=False, description=description,
                                     input_tables=input_tables or None)

    def open(self, url: str):
        return self.tlc.Table.from_url(url)

    def latest(self, table, timeout: float):
        return table.latest(timeout=timeout)

    def delete_rows(self, table, indices: list[int], *, table_name: str, description: str):
        return table.delete_rows(indices, table_name=table_name, description=description)

    def edited(self, table, edits: dict, *, table_name: str, description: str):
        tlc = self.tlc
        url = self.sibling(table, table_name)
        edited = tlc._core.objects.tables.from_table.edited_table.EditedTable(
            url=url, input_table_url=table, edits=edits, description=description)
        edited.ensure_fully_defined()  # computes schema and row count, and writes the table
        return edited

    def should_delete(self) -> str:
        return self.tlc.constants.SHOULD_DELETE

    def column(self, table, name: str) -> pa.Array:
        return table.get_column_as_pyarrow_array(name)

    # urls
    def url(self, table) -> str:
        return self.tlc.Url(table.url).to_absolute().to_str()

    def sibling(self, table, name: str):
        return self.tlc.Url(table.url).create_sibling(name).create_unique()

    def written(self, table) -> bool:
        return self.tlc.Url(table.url).exists()

    def name(self, table) -> str:
        return self.tlc.Url(table.url).name

    def input_urls(self, table) -> list[str]:
        """Absolute URLs of a table's inputs: an EditedTable's input table, then its `input_tables`."""
        tlc = self.tlc
        refs = []
        ref = getattr(table, "input_table_url", None)
        if ref is not None:
            refs.append(getattr(ref, "url", ref))
        refs += list(getattr(table, "input_tables", None) or [])
        return [tlc.Url(tlc.Url(str(r)).to_absolute(table.url)).to_str() for r in refs]

    # runs
    def init_run(self, *, project: str, run_name: str, description: str, root_url: str | None):
        """A 3LC run (reused when it exists: `curate train --resume` continues the same run)."""
        return self.tlc.init(project_name=project, run_name=run_name, description=description, if_exists="reuse",
                             root_url=root_url)

    def open_run(self, url: str):
        return self.tlc.Run.from_url(url)

    def run_url(self, run) -> str:
        return self.tlc.Url(run.url).to_absolute().to_str()

    def set_parameters(self, run, parameters: dict) -> None:
        run.set_parameters(parameters)

    def add_input_table(self, run, table_url: str) -> None:
        run.add_input_table(table_url)

    def log(self, run, values: dict) -> None:
        self.tlc.log(values, run=run)

    def add_metrics(self, run, columns: dict, *, schema: dict, foreign_table_url: str, constants: dict):
        return run.add_metrics(columns, schema=schema, foreign_table_url=foreign_table_url, constants=constants)

    def set_status(self, run, status: str) -> None:
        if status == "running":
            run.set_status_running()
        elif status == "completed":
            run.set_status_completed()
        else:  # failed: 3LC has no failed state; cancelled is the closest
            run.set_status_cancelled()

    def close(self) -> None:
        self.tlc.close()

    def example_id_column(self) -> str:
        """The metrics column 3LC joins to the foreign table's row index."""
        return self.tlc.constants.EXAMPLE_ID
