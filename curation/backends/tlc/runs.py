"""The 3lc run store: runs kept locally as by the embedded backend (what curate reads back), and written to 3LC as
they go, so the 3LC Dashboard shows them beside the tables they trained on.

  run.json written      -> the first time: `tlc.init(project, run id)`, parameters (the config, the resolved
                           inputs and `revision_url`, the 3LC URL of the exact table revision), the revision as the
                           run's input table; every epoch not yet logged: `tlc.log({"epoch": e, ...})`; the status
  dynamics of epoch e   -> a metrics table: per clip of that epoch, mean loss/prob/margin and draws, with
                           `example_id` = the clip's row index in the exact revision trained on (never a position
                           in our own tables: ids are mapped through that revision's id column), constant epoch e
  collection            -> a metrics table over the collected revision: prob, loss, pred, the embedding
                           (EmbeddingSchema) and our 2-D map as a 2-vector with the xy role
This module never touches `tlc` itself: every call goes through the backend's client adapter (client.py, held
by the table store).

What was written to 3LC is kept in `<run>/tlc.json` (run URL, epochs logged, metrics tables). A failed 3LC write
warns and does not stop training; the next write retries what is missing, so a resumed run fills the gaps.
"""
from __future__ import annotations

import logging
from dataclasses import asdict

import numpy as np
import pyarrow as pa

from curation.backends.tlc.client import SERVICE_ERRORS
from curation.runs.protocol import CollectionKey
from curation.runs.record import RunRecord
from curation.runs.store import LocalRunStore, draws_per_clip, embedding_matrix
from curation.storage import read_json, write_json

log = logging.getLogger(__name__)
_STATE = "tlc.json"


def _flat(prefix: str, value, out: dict) -> dict:
    """Nested dicts as dotted scalar keys (3LC shows parameters and logged values as flat columns)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif value is None or isinstance(value, (bool, int, float, str)):
        out[prefix] = value
    else:
        out[prefix] = str(value)
    return out


class TlcRunStore(LocalRunStore):
    def __init__(self, root, tables):
        super().__init__(root)
        self.tables = tables  # a TlcTableStore: its revisions carry their 3LC table URL
        self.api = tables.api
        self._open: dict[str, object] = {}  # run id -> 3LC Run, for this process
        self._ids: dict[str, dict[str, int]] = {}  # 3LC table URL -> {id: row index}

    # -- state -------------------------------------------------------------------------------------
    def _state(self, run: str) -> dict:
        key = f"{run}/{_STATE}"
        return read_json(self.storage, key) if self.storage.exists(key) else {"epochs_logged": [], "metrics": {}}

    def _save(self, run: str, state: dict) -> None:
        write_json(self.storage, f"{run}/{_STATE}", state)

    def _mirror(self, what: str, run: str, write) -> None:
        """Run one write to 3LC; a failure warns and leaves the local run untouched."""
        try:
            write()
        except SERVICE_ERRORS as exc:  # 3LC unreachable, disk full, ...: the local run is the record
            log.warning("3LC: could not write %s of %s (%s); it stays local and is retried on the next write",
                        what, run, exc)

    def _run(self, run: str, record: RunRecord, state: dict):
        if run not in self._open:
            if state.get("run_url"):
                self._open[run] = self.api.open_run(state["run_url"])
            else:
                handle = self.api.init_run(project=self.tables.project, run_name=run, root_url=self.tables.root_url,
                                           description=f"curate {record.config.get('model', '')} on "
                                                       f"{record.inputs.ref}")
                state["run_url"] = self.api.run_url(handle)
                self._save(run, state)
                self._open[run] = handle
        return self._open[run]

    def _example_ids(self, revision, ids: list[str]) -> np.ndarray:
        """Row indices of `ids` in the exact 3LC table of `revision` (row order there is 3LC's)."""
        url = revision.meta["tlc_url"]
        if url not in self._ids:
            column = self.tables.read(revision, [self.tables.spec(revision.dataset, revision.table).id_column])
            self._ids[url] = {v: i for i, v in enumerate(column.column(0).to_pylist())}
        index = self._ids[url]
        return np.array([index[i] for i in ids], dtype=np.int64)

    # -- writes mirrored to 3LC ----------------------------------------------------------------------
    def write_record(self, run: str, record: RunRecord) -> None:
        super().write_record(run, record)
        self._mirror("run info", run, lambda: self._write_record(run, record))

    def _write_record(self, run: str, record: RunRecord) -> None:
        state = self._state(run)
        handle = self._run(run, record, state)
        if not state.get("parameters"):
            revision = record.trained_on(self.tables)
            parameters = _flat("", {"config": record.config, "inputs": asdict(record.inputs), "model": record.model},
                               {})
            parameters["revision_url"] = revision.meta["tlc_url"]
            self.api.set_parameters(handle, parameters)
            self.api.add_input_table(handle, revision.meta["tlc_url"])
            state["parameters"] = True
        for summary in record.epochs:
            if summary["epoch"] not in state["epochs_logged"]:
                self.api.log(handle, _flat("", summary, {}))
                state["epochs_logged"].append(summary["epoch"])
        if state.get("status") != record.status:
            self.api.set_status(handle, record.status)
            state["status"] = record.status
        self._save(run, state)
        if record.status in ("completed", "failed"):
            self.api.close()
            self._open.pop(run, None)

    def write_dynamics(self, run: str, epoch: int, table: pa.Table) -> None:
        super().write_dynamics(run, epoch, table)
        self._mirror(f"dynamics of epoch {epoch}", run, lambda: self._write_dynamics(run, epoch, table))

    def _write_dynamics(self, run: str, epoch: int, table: pa.Table) -> None:
        record = self.record(run)
        revision = record.trained_on(self.tables)
        per_clip = draws_per_clip(table)
        ids = per_clip["clip_id"].to_pylist()
        columns = {self.api.example_id_column(): self._example_ids(revision, ids).tolist(),
                   **{c: per_clip[c].to_pylist() for c in ("clip_id", "loss", "prob", "margin", "draws")}}
        roles = {"clip_id": "id", "loss": "float", "prob": "probability", "margin": "float", "draws": "int"}
        self._add_metrics(run, record, f"dynamics-{epoch:04d}", revision, columns, roles, {"epoch": epoch})

    def write_collection(self, run: str, name: str, table: pa.Table) -> None:
        super().write_collection(run, name, table)
        if "prob" not in table.column_names:  # features only (a run's start, for its label issues): not metrics
            return
        self._mirror(f"collection {name}", run, lambda: self._write_collection(run, name, table))

    def _write_collection(self, run: str, name: str, table: pa.Table) -> None:
        record = self.record(run)
        key = CollectionKey.parse(name)
        revision = self.tables.revision(key.dataset or record.inputs.dataset, key.table, key.revision)
        ids = table["clip_id"].to_pylist()
        embedding = embedding_matrix(table)
        xy = np.stack([table["map_x"].to_numpy(zero_copy_only=False),
                       table["map_y"].to_numpy(zero_copy_only=False)], axis=1).astype(np.float32)
        columns = {self.api.example_id_column(): self._example_ids(revision, ids).tolist(), "clip_id": ids,
                   "prob": table["prob"].to_pylist(), "loss": table["loss"].to_pylist(),
                   "pred": table["pred"].to_pylist(), "embedding": embedding.tolist(), "map_2d": xy.tolist()}
        roles = {"clip_id": "id", "prob": "probability", "loss": "float", "pred": "int", "embedding": "embedding",
                 "map_2d": "map"}
        self._add_metrics(run, record, f"collection-{name}", revision, columns, roles,
                          {"epoch": len(record.epochs)}, embedding.shape[1])

    def _add_metrics(self, run: str, record: RunRecord, key: str, revision, columns: dict, roles: dict,
                     constants: dict, dim: int | None = None) -> None:
        """One 3LC metrics table joined to `revision` by example_id; `roles` name each column's schema."""
        state = self._state(run)
        handle = self._run(run, record, state)
        schema = {c: self.api.metric_schema(role, dim) for c, role in roles.items()}
        written = self.api.add_metrics(handle, columns, schema=schema, foreign_table_url=revision.meta["tlc_url"],
                                       constants=constants)
        state["metrics"][key] = [str(w.get("url", "")) for w in written or []]
        self._save(run, state)
