import lance
import pyarrow as pa
import pytest

from conftest import SPEC, make_clips
from curation.errors import BadInput, Conflict, NotFound
from curation.tables import Edit, TableRef, parse_ref
from curation.tables.content import core_columns, diff_core, fingerprint
from curation.tables.refs import resolve


def rows_by_id(store, rev):
    return {r["clip_id"]: r for r in store.read(rev).to_pylist()}


def test_edit_makes_new_revision_and_old_one_reads_back(clips_store):
    s = clips_store
    r1 = s.head("ds", "clips")
    r2 = s.edit("ds", "clips", Edit(delete={"v000:1", "v000:2"}, weights={"v001:0": 0.25},
                                    labels={"v001:1": 0}), message="fix")
    assert (r2.number, r2.parent, r2.rows) == (2, 1, 98)
    assert r2.counts == {"deleted": 2, "reweighted": 1, "relabeled": 1}
    new, old = rows_by_id(s, r2), rows_by_id(s, r1)
    assert "v000:1" not in new and "v000:1" in old and len(old) == 100
    assert new["v001:0"]["weight"] == 0.25 and old["v001:0"]["weight"] == 1.0
    assert new["v001:1"]["label"] == 0 and old["v001:1"]["label"] == 1
    assert new["v005:3"]["end_frame"] == old["v005:3"]["end_frame"]  # untouched columns survive updates
    assert s.head("ds", "clips").number == 2
    assert fingerprint(s.read(r2), SPEC) == r2.fingerprint
    assert fingerprint(s.read(r1), SPEC) == r1.fingerprint != r2.fingerprint


def test_refs_resolve_latest_number_and_tag(clips_store):
    s = clips_store
    s.edit("ds", "clips", Edit(delete={"v000:0"}), message="a")
    s.set_tag("ds", "clips", "round-1", 1)
    assert resolve(s, "clips", "ds").number == 2
    assert resolve(s, "clips@latest", "ds").number == 2
    assert resolve(s, "ds/clips@1", None).number == 1
    assert resolve(s, "clips@round-1", "ds").number == 1
    assert parse_ref("nexar/clips@3") == TableRef("nexar", "clips", "3")
    for bad in ("clips@7", "clips@nosuchtag", "frames", "other/clips"):
        with pytest.raises(NotFound):
            resolve(s, bad, "ds")
    with pytest.raises(BadInput):
        parse_ref("clips@@1")
    with pytest.raises(BadInput):
        s.set_tag("ds", "clips", "round-1", 2)  # moving a tag needs force
    s.set_tag("ds", "clips", "round-1", 2, force=True)
    assert s.tags("ds", "clips") == {"round-1": 2}


def test_unknown_ids_reject_whole_edit(clips_store):
    s = clips_store
    with pytest.raises(NotFound, match="1 unknown id"):
        s.edit("ds", "clips", Edit(delete={"v000:0", "nope"}), message="x")
    with pytest.raises(BadInput):
        s.edit("ds", "clips", Edit(labels={"v000:0": 5}), message="x")
    with pytest.raises(BadInput):
        s.edit("ds", "clips", Edit(weights={"v000:0": -1.0}), message="x")
    with pytest.raises(BadInput):
        s.edit("ds", "clips", Edit(delete={"v000:0"}, weights={"v000:0": 2.0}), message="x")
    assert [r.number for r in s.revisions("ds", "clips")] == [1]
    assert s.read(s.head("ds", "clips")).num_rows == 100


def test_edit_that_changes_nothing_makes_no_revision(clips_store):
    s = clips_store
    rev = s.edit("ds", "clips", Edit(weights={"v000:0": 1.0}), message="same")
    assert rev.number == 1 and len(s.revisions("ds", "clips")) == 1


def test_stale_base_conflicts_on_overlap_unless_rebased(clips_store):
    s = clips_store
    s.edit("ds", "clips", Edit(weights={"v000:0": 0.5}), message="first", base=1)
    with pytest.raises(Conflict):
        s.edit("ds", "clips", Edit(weights={"v000:0": 0.25, "v000:1": 0.5}), message="second", base=1)
    rev = s.edit("ds", "clips", Edit(weights={"v000:0": 0.25, "v000:1": 0.5}), message="second", base=1,
                 rebase=True)
    rows = rows_by_id(s, rev)
    assert rows["v000:0"]["weight"] == 0.25 and rows["v000:1"]["weight"] == 0.5  # the user chose to override


def test_revert_and_diff(clips_store):
    s = clips_store
    r1 = s.head("ds", "clips")
    r2 = s.edit("ds", "clips", Edit(delete={"v000:0"}, weights={"v000:1": 0.0}), message="e")
    r3 = s.revert("ds", "clips", 1, message="back")
    assert r3.number == 3 and r3.fingerprint == r1.fingerprint
    assert rows_by_id(s, r3) == rows_by_id(s, r1)
    d = diff_core(SPEC, s.read(r1, core_columns(SPEC)), s.read(r2, core_columns(SPEC)))
    assert d.deleted == ["v000:0"] and d.added == [] and d.reweighted == [("v000:1", 1.0, 0.0)]
    assert r3.counts["added"] == 1 and r3.counts["reweighted"] == 1


def test_killed_writer_leaves_head_intact_and_next_edit_rolls_back(clips_store, tmp_path):
    s = clips_store
    path = str(tmp_path / "tables" / "ds" / "clips" / "data.lance")
    # A writer that committed to Lance but died before its revision marker:
    lance.dataset(path).merge_insert("clip_id").when_matched_delete().execute(pa.table({"clip_id": ["v000:0"]}))
    head = s.head("ds", "clips")
    assert head.number == 1 and s.read(head).num_rows == 100
    rev = s.edit("ds", "clips", Edit(delete={"v000:1"}), message="next")
    ids = set(s.read(rev)["clip_id"].to_pylist())
    assert "v000:0" in ids and "v000:1" not in ids and rev.rows == 99


def test_create_rejects_bad_tables(store):
    bad = make_clips(10).set_column(0, "clip_id", pa.array(["a"] * 10))
    with pytest.raises(BadInput, match="duplicate"):
        store.create(SPEC, bad, message="x")
    with pytest.raises(BadInput, match="missing"):
        store.create(SPEC, make_clips(10).drop(["weight"]), message="x")
    assert store.list_tables() == []
    store.create(SPEC, make_clips(10), message="x")
    with pytest.raises(BadInput, match="exists"):
        store.create(SPEC, make_clips(10), message="x")


def test_replace_makes_revision_with_counts(clips_store):
    s = clips_store
    rev = s.replace("ds", "clips", make_clips(90), message="re-ingest")
    assert rev.number == 2 and rev.rows == 90 and rev.counts["deleted"] == 10
    assert s.read(s.revision("ds", "clips", 1)).num_rows == 100


def _scanned(plan: str) -> int:
    """Rows a Lance read touched, from its analysed plan (`rows_scanned=2.0 K` → 2000)."""
    import re

    counts = re.findall(r"rows_scanned=([\d.]+)( K| M)?", plan)
    return sum(int(float(n) * {"": 1, " K": 1e3, " M": 1e6}[unit]) for n, unit in counts)


def test_a_single_row_read_is_answered_from_the_index(store):
    """`read(where=…)` on the id or the parent key reads the rows asked for, not the table, through the scalar
    indexes the store keeps — also for rows an edit rewrote — and gives what filtering the whole read gives."""
    import pyarrow.compute as pc

    r1 = store.create(SPEC, make_clips(5000), message="init")
    one = pc.field("clip_id") == "v123:4"
    assert store.read(r1, ["clip_id", "end_frame"], where=one).to_pylist() == [{"clip_id": "v123:4",
                                                                               "end_frame": 1234}]
    assert _scanned(store.explain(r1, where=one)) == 1
    assert _scanned(store.explain(r1)) == 5000  # the measure can tell: a plain read touches every row
    video = pc.field("video_id") == "v321"
    assert store.read(r1, where=video) == store.read(r1).filter(video)
    assert _scanned(store.explain(r1, where=video)) == 10

    r2 = store.edit("ds", "clips", Edit(weights={"v123:4": 0.5}, delete={"v321:0"}), message="edit")
    assert store.read(r2, ["weight"], where=one).to_pylist() == [{"weight": 0.5}]
    assert _scanned(store.explain(r2, where=one)) == 1
    assert store.read(r2, where=video).num_rows == 9 and store.read(r1, where=video).num_rows == 10
