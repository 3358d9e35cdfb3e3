"""The fake 3LC: see the package docstring."""
from __future__ import annotations

import functools
import itertools
import posixpath
from dataclasses import dataclass
from types import SimpleNamespace

import pyarrow as pa

from tlc_api import ApiIndex

DEFAULT_ROOT = "/fake-3lc/projects"
SHOULD_DELETE = "SHOULD_DELETE"

_index: ApiIndex | None = None
_signatures: dict = {}
FAKE_CHAINS: list[str] = []  # every real name this fake stands in for


@dataclass
class Call:
    chain: str
    args: tuple
    kwargs: dict


CALLS: list[Call] = []


def _signature(chain: str):
    global _index
    if chain not in _signatures:
        if _index is None:
            _index = ApiIndex.installed()
        target = _index.resolve(chain)
        if target is None or target.signature is None and target.kind != "class":
            raise AttributeError(f"fake tlc: {chain} is not in the installed tlc sources")
        _signatures[chain] = target.signature if target.kind != "class" else _index.signature_of(target)
    return _signatures[chain]


def real(chain: str):
    """Bind every call against the installed 3LC signature of `chain` (self included for methods)."""
    FAKE_CHAINS.append(chain)

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                _signature(chain).bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{chain}: {exc}") from None
            CALLS.append(Call(chain, args, kwargs))
            return fn(*args, **kwargs)

        wrapper.real_chain = chain
        return wrapper

    return deco


# -- storage -----------------------------------------------------------------------------------------------------
_tables: dict[str, Table] = {}  # written tables by absolute url
_clock = itertools.count()


_runs: dict[str, Run] = {}  # runs by absolute url
_session: dict = {"run": None}


def _by_url(written: dict, url, what: str):
    """A written table or run by its URL; FileNotFoundError as in 3LC."""
    key = str(Url(url).to_absolute())
    if key not in written:
        raise FileNotFoundError(f"no {what} at {key}")
    return written[key]


def reset() -> None:
    _tables.clear()
    _runs.clear()
    _session["run"] = None
    CALLS.clear()


# -- urls --------------------------------------------------------------------------------------------------------
class Url:
    @real("tlc.Url.__init__")
    def __init__(self, value=None, scheme=None, normalized_path=None, query=None):
        text = str(value) if value is not None else ""
        self._path = posixpath.normpath(text) if text else ""

    def __str__(self):
        return self._path

    def __repr__(self):
        return f"Url({self._path!r})"

    def __eq__(self, other):
        return isinstance(other, Url) and other._path == self._path

    def __hash__(self):
        return hash(self._path)

    @real("tlc.Url.to_str")
    def to_str(self):
        return self._path

    @property
    def name(self):
        return posixpath.basename(self._path)

    @real("tlc.Url.to_absolute")
    def to_absolute(self, owner=None, *, allow_unexpanded=True):
        if posixpath.isabs(self._path) or owner is None:
            return Url(self._path)
        return Url(posixpath.join(str(owner), self._path))

    def relative_to(self, owner) -> Url:
        return Url(posixpath.relpath(self._path, str(owner)))

    @real("tlc.Url.create_sibling")
    def create_sibling(self, name):
        return Url("../" + name).to_absolute(self)

    @real("tlc.Url.create_unique")
    def create_unique(self):
        if self._path not in _tables:
            return Url(self._path)
        for i in itertools.count():
            candidate = f"{self._path}_{i:04d}"
            if candidate not in _tables:
                return Url(candidate)

    @real("tlc.Url.exists")
    def exists(self):
        return self._path in _tables


# -- schemas -----------------------------------------------------------------------------------------------------
class _Schema:
    arrow_type: pa.DataType | None = None

    def __repr__(self):
        return f"{type(self).__name__}({self.kwargs})"


def _schema_class(name: str, arrow_type: pa.DataType):
    @real(f"tlc.schemas.{name}.__init__")
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    return type(name, (_Schema,), {"__init__": __init__, "arrow_type": arrow_type})


schemas = SimpleNamespace(**{name: _schema_class(name, t) for name, t in [
    ("StringSchema", pa.string()), ("Int32Schema", pa.int32()), ("Int64Schema", pa.int64()),
    ("Float32Schema", pa.float32()), ("Float64Schema", pa.float64()), ("BoolSchema", pa.bool_()),
    ("CategoricalLabelSchema", pa.int32()), ("SampleWeightSchema", pa.float32()), ("VideoUrlSchema", pa.string()),
    ("ProbabilitySchema", pa.float32()), ("EmbeddingSchema", None), ("ImageSchema", pa.string()),
]})
constants = SimpleNamespace(SHOULD_DELETE=SHOULD_DELETE, EXAMPLE_ID="example_id",
                            NUMBER_ROLE_XY_COMPONENT="xy_component")


def _column(values: list, schema: _Schema | None) -> pa.Array:
    array = pa.array(values)  # as 3LC's pipeline does: python values, so NaN stays NaN and None is null
    return array.cast(schema.arrow_type) if schema is not None and schema.arrow_type is not None else array


# -- tables ------------------------------------------------------------------------------------------------------
class Table:
    def __init__(self, url: Url, data: pa.Table | None, *, description: str | None, input_tables=None):
        self._url = url
        self._data = data
        self.description = description or ""
        self.created = f"{next(_clock):08d}"
        self.input_tables = [Url(u).to_absolute(url).relative_to(url) for u in (input_tables or [])]
        self._row_cache_populated = False

    @property
    def url(self) -> Url:
        return self._url

    def _write(self) -> None:
        _tables[str(self._url)] = self

    def __len__(self):
        return 0 if self._data is None else self._data.num_rows

    @property
    def columns(self) -> list[str]:
        return list(self._data.column_names)

    @staticmethod
    @real("tlc.Table.from_pandas")
    def from_pandas(df, *, schema=None, project_name=None, dataset_name=None, table_name=None, root_url=None,
                    table_url=None, if_exists="reuse", add_weight_column=True, weight_column_value=None,
                    description=None, extra_columns=None, input_tables=None):
        if table_url is not None:
            if root_url or project_name or dataset_name or table_name:
                raise ValueError("Cannot specify 'table_url' together with 'root_url', 'project_name', ...")
            url = Url(table_url).to_absolute()
        else:
            url = Url(posixpath.join(str(root_url or DEFAULT_ROOT), project_name or "default", "datasets",
                                     dataset_name or "default", "tables", table_name or "table"))
        if df.empty:
            raise ValueError("Cannot infer a row schema from an empty DataFrame.")
        schema = dict(schema or {})
        missing = [c for c in schema if c not in df.columns]
        if missing:
            raise ValueError(f"schema declares columns the frame lacks: {missing}")
        columns = {c: _column(df[c].tolist(), schema.get(c)) for c in df.columns}
        declared_weight = [c for c, s in schema.items() if type(s).__name__ == "SampleWeightSchema"]
        if add_weight_column and not declared_weight:
            if "weight" in columns:
                raise ValueError("Cannot add a sample weight column: 'weight' is not a sample weight column")
            columns["weight"] = pa.array([weight_column_value or 1.0] * len(df), pa.float32())
        if if_exists not in ("raise", "reuse", "rename", "overwrite"):
            raise ValueError(f"bad if_exists {if_exists!r}")
        if str(url) in _tables:
            if if_exists == "raise":
                raise FileExistsError(f"A table already exists at url {url}")
            if if_exists == "reuse":
                return _tables[str(url)]
            if if_exists == "rename":  # as 3.4.2 does: the renamed table loses description and input_tables
                url, description, input_tables = url.create_unique(), None, None
        table = Table(url, pa.table(columns), description=description, input_tables=input_tables)
        table._row_cache_populated = True
        table.schema_override = schema
        table._write()
        return table

    @staticmethod
    @real("tlc.Table.from_url")
    def from_url(url):
        return _by_url(_tables, url, "table")

    def _inputs(self) -> list[str]:
        return [str(u.to_absolute(self._url)) for u in self.input_tables]

    @real("tlc.Table.latest")
    def latest(self, timeout=30.0):
        if str(self._url) not in _tables:
            raise ValueError(f"Url {self._url} is not present in the indexed Url set.")
        children: dict[str, list[str]] = {}
        for url, t in _tables.items():
            for parent in t._inputs():
                children.setdefault(parent, []).append(url)
        leaves, stack, seen = [], [str(self._url)], set()
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            if children.get(u):
                stack.extend(children[u])
            else:
                leaves.append(_tables[u])
        return max(leaves, key=lambda t: t.created)

    @real("tlc.Table.get_column_as_pyarrow_array")
    def get_column_as_pyarrow_array(self, name, *, combine_chunks=True):
        # As 3LC's base Table does: a table whose rows are cached (one from a frame) reads the cache; for
        # any other the base method yields nulls — EditedTable's class overrides it, so it must be called on
        # the instance, never through `Table`.
        self.ensure_fully_defined()
        column = self._column(name)
        if not self._row_cache_populated:
            return pa.nulls(len(column), column.type)
        return column.combine_chunks() if combine_chunks else column

    def _column(self, name):
        if name not in self._data.column_names:
            raise KeyError(f"Column '{name}' not found in row schema.")
        return self._data[name]

    @real("tlc.Table.ensure_fully_defined")
    def ensure_fully_defined(self):
        self._define()  # like 3LC's final ensure_fully_defined: subclasses hook in, it writes the table

    def _define(self) -> None:
        pass  # tables from a frame are complete and written when created

    @real("tlc.Table.delete_rows")
    def delete_rows(self, indices, *, table_name=None, table_url="", description=None):
        if not indices:
            raise ValueError("Cannot delete 0 rows")
        if any(i < 0 or i >= len(self) for i in indices):
            raise ValueError("Cannot delete rows with indices outside the range of the Table")
        if table_name is not None and table_url:
            raise ValueError("Cannot specify both 'table_name' and 'table_url'.")
        url = Url(table_url).create_unique() if table_url else \
            self._url.create_sibling(table_name or "deleted_rows").create_unique()
        edited = EditedTable(url=url, input_table_url=self, description=description or "rows deleted",
                             edits={SHOULD_DELETE: {"runs_and_values": [sorted(indices), True]}})
        edited.ensure_fully_defined()
        return edited


class ObjectReference:
    def __init__(self, target: Table, owner: Url):
        self._target = target
        self._relative = target.url.relative_to(owner)

    @property
    def url(self) -> Url:  # relative to the owner, as 3LC stores it
        return self._relative


def _run_indices(run: list[int]):
    """3LC's run encoding: a negative entry -b after a closes the range a..b."""
    out, i = [], 0
    while i < len(run):
        if i + 1 < len(run) and run[i + 1] < 0:
            if not 0 <= run[i] < -run[i + 1]:
                raise ValueError("Invalid edits object: negative run entry without a valid smaller predecessor")
            out.extend(range(run[i], -run[i + 1] + 1))
            i += 2
        else:
            out.append(run[i])
            i += 1
    return out


class EditedTable(Table):
    @real("tlc._core.objects.tables.from_table.edited_table.EditedTable.__init__")
    def __init__(self, *, url=None, created=None, description=None, row_cache_url=None, row_cache_populated=None,
                 override_table_rows_schema=None, init_parameters=None, input_table_url=None, edits=None,
                 input_tables=None):
        if url is None:
            raise ValueError("the fake needs an url for an EditedTable")
        super().__init__(Url(url).to_absolute(), None, description=description, input_tables=input_tables)
        if isinstance(input_table_url, Table):
            source = input_table_url
        else:
            source = Table.from_url(Url(str(input_table_url)).to_absolute(self._url))
        self.input_table_url = ObjectReference(source, self._url)
        self._source = source
        self.edits = dict(edits or {})
        for column in self.edits.values():
            if len(column["runs_and_values"]) % 2:
                raise ValueError("Invalid edits object")

    def _inputs(self) -> list[str]:
        return [str(self._source.url)] + super()._inputs()

    @real("tlc._core.objects.tables.in_memory_columns_table._InMemoryColumnsTable.get_column_as_pyarrow_array")
    def get_column_as_pyarrow_array(self, name, combine_chunks=None):
        self.ensure_fully_defined()
        column = self._column(name)
        return column.combine_chunks() if combine_chunks in (None, True) else column

    def _define(self):
        if self._data is not None:
            return
        source = self._source
        source.ensure_fully_defined()
        data, n = source._data, len(source)
        for name, spec in self.edits.items():
            if name != SHOULD_DELETE and name not in data.column_names:
                raise ValueError(f"Column '{name}' is not in the input table schema")
            for run in spec["runs_and_values"][::2]:
                for i in _run_indices(run):
                    if not 0 <= i < n:
                        raise ValueError(f"Edit for column '{name}' references row index {i}, but valid indices "
                                         f"are 0..{n - 1}")
        for name, spec in self.edits.items():
            if name == SHOULD_DELETE:
                continue
            values = data[name].to_pylist()
            pairs = spec["runs_and_values"]
            for run, value in zip(pairs[::2], pairs[1::2]):
                for i in _run_indices(run):
                    values[i] = value
            data = data.set_column(data.column_names.index(name), name, pa.array(values).cast(data[name].type))
        if SHOULD_DELETE in self.edits:
            pairs = self.edits[SHOULD_DELETE]["runs_and_values"]
            keep = [True] * n
            for run, value in zip(pairs[::2], pairs[1::2]):
                for i in _run_indices(run):
                    keep[i] = not value
            data = data.filter(pa.array(keep))
        self._data = data
        self._write()


_core = SimpleNamespace(objects=SimpleNamespace(tables=SimpleNamespace(from_table=SimpleNamespace(
    edited_table=SimpleNamespace(EditedTable=EditedTable)))),
    object_reference=SimpleNamespace(ObjectReference=ObjectReference))


# -- runs --------------------------------------------------------------------------------------------------------
_STATUS = {"running": 1, "completed": 2, "cancelled": 6}


class Run:
    """What the tests look at: parameters, inputs, logged outputs, status and the metrics tables (pyarrow)."""

    def __init__(self, url: Url, description: str | None, parameters: dict | None):
        self._url = url
        self.description = description or ""
        self.parameters = dict(parameters or {})
        self.inputs: list[dict] = []
        self.outputs: list[dict] = []
        self.metrics: list[tuple[str, pa.Table]] = []  # (foreign table url, rows)
        self.status = 0

    @property
    def url(self) -> Url:
        return self._url

    @staticmethod
    @real("tlc.Run.from_url")
    def from_url(url):
        return _by_url(_runs, url, "run")

    @real("tlc.Run.set_parameters")
    def set_parameters(self, parameters):
        self.parameters.update(parameters)

    @real("tlc.Run.add_input_table")
    def add_input_table(self, input_table):
        url = str(Url(str(input_table)).to_absolute())
        entry = {"input_table_url": url, "num_examples": len(Table.from_url(url)) if url in _tables else -1}
        if entry not in self.inputs:
            self.inputs.append(entry)

    @real("tlc.Run.add_output_value")
    def add_output_value(self, output_value):
        self.outputs.append(dict(output_value))

    @real("tlc.Run.add_metrics")
    def add_metrics(self, metrics, *, schema=None, foreign_table_url=None, constants=None):
        if not metrics:
            raise ValueError("No metrics data provided.")
        if constants and not foreign_table_url:
            raise ValueError("constants= are only applied when foreign_table_url is provided")
        metrics = dict(metrics)
        n = len(metrics[next(iter(metrics))])
        if any(len(v) != n for v in metrics.values()):
            raise ValueError("metrics columns differ in length")
        if foreign_table_url:
            table = Table.from_url(foreign_table_url)  # FileNotFoundError, as in 3LC
            if "example_id" not in metrics:
                if len(table) != n:
                    raise ValueError(f"The number of rows in the metrics data ({n}) must match the number of rows "
                                     f"in the input table ({len(table)}).")
                metrics["example_id"] = list(range(n))
            if any(not 0 <= int(i) < len(table) for i in metrics["example_id"]):
                raise ValueError("example_id outside the foreign table")
            for key, value in (constants or {}).items():
                metrics[key] = [value] * n
        unknown = [c for c in (schema or {}) if c not in metrics]
        if unknown:
            raise ValueError(f"schema for columns the metrics lack: {unknown}")
        self.metrics.append((str(Url(str(foreign_table_url)).to_absolute()), pa.table(metrics)))
        return [{"url": f"{self._url}/metrics_{len(self.metrics):04d}"}]

    @real("tlc.Run.set_status_running")
    def set_status_running(self):
        self.status = _STATUS["running"]

    @real("tlc.Run.set_status_completed")
    def set_status_completed(self):
        self.status = _STATUS["completed"]

    @real("tlc.Run.set_status_cancelled")
    def set_status_cancelled(self):
        self.status = _STATUS["cancelled"]


@real("tlc.init")
def init(project_name=None, run_name=None, *, description=None, parameters=None, if_exists="rename", root_url=None,
         run_url=None):
    url = Url(run_url) if run_url is not None else \
        Url(posixpath.join(str(root_url or DEFAULT_ROOT), project_name or "default", "runs", run_name or "run"))
    if str(url) in _runs:
        if if_exists == "raise":
            raise FileExistsError(f"run {url} exists")
        if if_exists == "reuse":
            _session["run"] = _runs[str(url)]
            return _runs[str(url)]
        if if_exists == "rename":
            url = Url(f"{url}_{len(_runs):04d}")
    run = Run(url, description, parameters)
    _runs[str(url)] = run
    _session["run"] = run
    return run


@real("tlc.log")
def log(data, run=None):
    run = run or _session["run"]
    if run is None:
        raise ValueError("No active Run found.")
    run.add_output_value(data)


@real("tlc.close")
def close():
    _session["run"] = None


def runs() -> dict[str, Run]:
    return dict(_runs)
