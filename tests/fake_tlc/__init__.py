"""A stand-in for the `tlc` package, for tests only (product code never imports it).

Tests put it in `sys.modules["tlc"]`; the 3LC backend (`curation/backends/tlc/`) then runs against it. Every
callable here is wrapped by `real(chain)`, which binds each call against the signature of the same name in the
installed 3LC sources (via tests/tlc_api.py, parsed, never imported): a keyword or positional argument the real
API lacks raises TypeError, as it would against real 3LC. Calls are recorded in `CALLS`.

Behaviour kept: tables held in memory (pyarrow), URLs as posix paths under /fake-3lc, `from_pandas` (schema
override, weight column, if_exists, table_url exclusivity, empty-frame refusal), `from_url`, lineage through
`input_tables` and an EditedTable's input, `latest()` (newest leaf descending from a table, as 3LC's lineage index
does), `delete_rows`, `EditedTable` edits (runs_and_values, SHOULD_DELETE, indices of the input table), relative
input URLs, `Url.create_sibling/create_unique/to_absolute/exists`; runs: `init` (if_exists), `log`, `close`,
`Run.from_url/set_parameters/add_input_table/add_metrics` (example_id range, constants, row count) and statuses.
"""
from fake_tlc.core import (  # noqa: F401
    CALLS,
    DEFAULT_ROOT,
    FAKE_CHAINS,
    Run,
    Table,
    Url,
    _core,
    close,
    constants,
    init,
    log,
    reset,
    runs,
    schemas,
)
