"""The 3LC backend: its use of the tlc API checked against the installed sources (offline, by ast), its behaviour
against a signature-enforcing fake `tlc`, and — only with an API key and network — against real 3LC."""
import os
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from conftest import SPEC, make_clips
from curation.errors import BadInput, Conflict, NotFound
from curation.tables import Display, Edit, TableSpec
from curation.tables.content import fingerprint
from curation.tables.refs import resolve
from tlc_api import ApiIndex, adapter_usages, check_instance_api, check_usages, find_site_packages, instance_usages

PACKAGE = Path(__file__).parents[1] / "curation" / "backends" / "tlc"
ADAPTER = PACKAGE / "client.py"
pytestmark = pytest.mark.skipif(find_site_packages() is None, reason="the 3lc package (tlc sources) is not installed")


@pytest.fixture(scope="module")
def index():
    return ApiIndex.installed()


# -- conformance: every tlc name and keyword the adapter uses exists in the installed sources -----------------------
def test_adapter_uses_only_names_and_keywords_of_the_installed_tlc(index):
    from curation.backends.tlc.client import TLC_INSTANCE_API

    source = ADAPTER.read_text()
    usages = adapter_usages(source)
    methods = instance_usages(source, TLC_INSTANCE_API)
    chains = {u.chain for u in usages + methods}
    for expected in ("tlc.Table.from_pandas", "tlc.Table.from_url", "tlc.Table.latest", "tlc.Table.delete_rows",
                     "tlc.Table.get_column_as_pyarrow_array", "tlc.Table.ensure_fully_defined",
                     "tlc.schemas.CategoricalLabelSchema", "tlc.schemas.SampleWeightSchema",
                     "tlc.schemas.StringSchema", "tlc.constants.SHOULD_DELETE", "tlc.Url.create_sibling",
                     "tlc._core.objects.tables.from_table.edited_table.EditedTable",
                     "tlc.init", "tlc.log", "tlc.close", "tlc.Run.from_url", "tlc.Run.set_parameters",
                     "tlc.Run.add_input_table", "tlc.Run.add_metrics", "tlc.Run.set_status_completed",
                     "tlc.schemas.EmbeddingSchema", "tlc.schemas.ProbabilitySchema", "tlc.constants.EXAMPLE_ID",
                     "tlc.constants.NUMBER_ROLE_XY_COMPONENT"):
        assert expected in chains, expected
    assert [u.keywords for u in methods if u.chain == "tlc.Run.add_metrics"] == [
        ("schema", "foreign_table_url", "constants")]
    assert [u.keywords for u in usages if u.chain == "tlc.init"] == [
        ("project_name", "run_name", "description", "if_exists", "root_url")]
    # the backend's tables and runs go through the client: no tlc name of their own
    for module in ("tables.py", "runs.py"):
        text = (PACKAGE / module).read_text()
        assert adapter_usages(text) == [] and "import tlc" not in text, module
    assert [u.keywords for u in methods if u.chain == "tlc.Table.delete_rows"] == [("table_name", "description")]
    # in the client, every use of tlc sits in TlcClient (and the guarded import): nothing else is rooted at it
    outside = source.replace(source[source.index("class TlcClient:"):], "")
    assert [u.chain for u in adapter_usages(outside)] == []
    from_pandas = [u for u in usages if u.chain == "tlc.Table.from_pandas"]
    assert {"schema", "project_name", "dataset_name", "table_name", "if_exists", "add_weight_column",
            "input_tables", "description", "table_url"} <= {k for u in from_pandas for k in u.keywords}
    assert check_usages(index, usages) == []
    assert check_usages(index, methods) == []
    assert check_instance_api(index, TLC_INSTANCE_API) == []


def test_checker_fails_on_wrong_names_and_keywords(index):
    snippet = textwrap.dedent("""
        import tlc
        from tlc.schemas import Float32Schema as F

        def f(df, t):
            tlc.Table.from_pandas(df, column_schemas={}, project_name="p")   # 2.x keyword
            tlc.ImagePath("x.png")                                            # 2.x name
            tlc.Table.delete_rows(t, [1], table_nam="x")                      # typo
            tlc.Table.set_value_in_column(t, "weight", 3, 0.5)                # documented, absent in 3.4.2
            tlc.schemas.StringSchema("positional")                            # keyword-only parameters
            tlc.Table.from_pandas(schema={})                                  # df missing
            F(shapee=3)                                                       # via a from-import alias
            tlc.Table.from_pandas(df, schema={}, table_name="ok", **extra)    # fine
            tlc.schemas.CategoricalLabelSchema(["a", "b"], display_name="x")  # fine
    """)
    problems = check_usages(index, adapter_usages(snippet))
    text = "\n".join(problems)
    assert "line 6: tlc.Table.from_pandas: no keyword argument 'column_schemas'" in text
    assert "line 7: tlc.ImagePath: no such name" in text
    assert "line 8: tlc.Table.delete_rows: no keyword argument 'table_nam'" in text
    assert "line 9: tlc.Table.set_value_in_column: no such name" in text
    assert "line 10: tlc.schemas.StringSchema: 1 positional arguments, at most 0 accepted" in text
    assert "line 11: tlc.Table.from_pandas: required argument(s) df not given" in text
    assert "line 12: tlc.schemas.Float32Schema: no keyword argument 'shapee'" in text
    assert len(problems) == 7, problems
    methods = textwrap.dedent("""
        class TlcClient:
            def f(self, t, u, r):
                t.latest(timeout=0, wait=True)
                t.delete_rows([1], table_name="x")
                u.create_sibling("a", "b")
                self.tlc.Table.from_url(u)
                self.tlc.init(project="p", run_name="r")
                r.add_metrics({"a": [1]}, foreign_table=u, constants={})
                self.tlc.log({"epoch": 1}, run=r)
    """)
    api = {"tlc.Table": ("latest", "delete_rows"), "tlc.Url": ("create_sibling",), "tlc.Run": ("add_metrics",)}
    assert check_usages(index, instance_usages(methods, api) + adapter_usages(methods)) == [
        ("line 4: tlc.Table.latest: no keyword argument 'wait' "
         "(tlc._core.objects.table.Table.latest(self, timeout=...))"),
        ("line 6: tlc.Url.create_sibling: 3 positional arguments, at most 2 accepted "
         "(tlcurl.url.Url.create_sibling(self, name))"),
        "line 9: tlc.Run.add_metrics: no keyword argument 'foreign_table' "
        "(tlc._core.objects.mutable_objects.run.Run.add_metrics(self, metrics, *, schema=..., "
        "foreign_table_url=..., constants=...))",
        "line 8: tlc.init: no keyword argument 'project' (tlc._core.session.init(project_name=..., run_name=..., "
        "*, description=..., parameters=..., if_exists=..., root_url=..., run_url=...))"]
    wrong_attrs = check_instance_api(index, {"tlc.Table": ("url", "weights_column", "table_rows"),
                                             "tlc.ImagePath": ("x",)})
    assert wrong_attrs == [
        "tlc.Table.weights_column: no such attribute on tlc._core.objects.table.Table or its bases",
        "tlc.ImagePath: no such class in the installed tlc sources"]


def test_index_follows_reexports_stars_and_bases(tmp_path):
    pkg = tmp_path / "tlc"
    (pkg / "_core" / "objects").mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        from typing import TYPE_CHECKING
        from . import schemas as schemas
        from ._core.objects.table import Table
        from ._core import *
        if TYPE_CHECKING:
            from ._core.objects.table import Hidden
        def __getattr__(name): ...
    """))
    (pkg / "schemas.py").write_text("from ._core.objects.table import Base as StringSchema\n__all__ = ['x']\n")
    (pkg / "_core" / "__init__.py").write_text("from .objects import *\n")
    (pkg / "_core" / "objects" / "__init__.py").write_text("from .table import Table, helper\n__all__ = ['helper']\n")
    (pkg / "_core" / "objects" / "table.py").write_text(textwrap.dedent("""
        from typing import overload
        class Base:
            def __init__(self, *, shape=None, **kwargs):
                self.made = True
            def base_method(self, a, /, b, *args, c, d=1, **kw): ...
        class Table(Base):
            kind = "t"
            @overload
            def latest(self, timeout: int) -> None: ...
            def latest(self, timeout=30.0): ...
            @staticmethod
            def from_pandas(df, *, schema=None): ...
            @classmethod
            def from_url(cls, url): ...
            @property
            def url(self): ...
        def helper(x): ...
        class Hidden: ...
    """))
    ix = ApiIndex(tmp_path)
    assert ix.resolve("tlc.Table").qualname == "tlc._core.objects.table.Table"
    assert ix.resolve("tlc.schemas.StringSchema").qualname == "tlc._core.objects.table.Base"
    assert ix.resolve("tlc.helper").qualname == "tlc._core.objects.table.helper"  # star, star, honouring __all__
    assert ix.resolve("tlc.Hidden") is None  # bound only under TYPE_CHECKING
    assert ix.resolve("tlc.config") is None  # dynamic (module __getattr__): not statically known
    assert ix.resolve("tlc._core.objects.table").kind == "module"
    assert str(ix.call_signature("tlc.Table.latest")) == "(self, timeout=...)"  # the overload stub is skipped
    assert str(ix.call_signature("tlc.Table.from_pandas")) == "(df, *, schema=...)"
    assert str(ix.call_signature("tlc.Table.from_url")) == "(url)"  # cls dropped
    assert str(ix.call_signature("tlc.Table")) == "(*, shape=..., **kwargs)"  # inherited __init__, self dropped
    assert str(ix.call_signature("tlc.Table.base_method")) == "(self, a, /, b, *args, c, d=..., **kw)"
    assert ix.resolve("tlc.Table.url").kind == "property" and ix.resolve("tlc.Table.made").kind == "attribute"
    assert ix.call_signature("tlc.Table.url") is None
    assert {"Table", "schemas", "helper", "TYPE_CHECKING"} <= set(ix.members("tlc"))
    assert {"latest", "from_pandas", "base_method", "made", "kind", "__init__"} <= set(ix.members("tlc.Table"))
    assert sorted(ix.module_names()) == ["tlc", "tlc._core", "tlc._core.objects", "tlc._core.objects.table",
                                         "tlc.schemas"]
    snippet = "tlc.Table(anything=1)\ntlc.Table.base_method(t, 1, 2, 3, c=1, z=2)\ntlc.Table.from_pandas(df, 2)\n"
    assert check_usages(ix, adapter_usages(snippet)) == [
        ("line 3: tlc.Table.from_pandas: 2 positional arguments, at most 1 accepted "
         "(tlc._core.objects.table.Table.from_pandas(df, *, schema=...))")]


def test_fake_stands_in_only_for_real_names_and_enforces_their_signatures(index, fake_tlc):
    assert fake_tlc.FAKE_CHAINS
    for chain in fake_tlc.FAKE_CHAINS:
        assert index.resolve(chain) is not None, chain
    import pandas as pd

    df = pd.DataFrame({"a": ["x"]})
    with pytest.raises(TypeError, match="column_schemas"):
        fake_tlc.Table.from_pandas(df, column_schemas={})
    with pytest.raises(TypeError, match="shapee"):
        fake_tlc.schemas.Float32Schema(shapee=3)
    t = fake_tlc.Table.from_pandas(df, table_name="t", if_exists="raise")
    with pytest.raises(TypeError, match="table_nam"):
        t.delete_rows([0], table_nam="x")
    assert t.columns == ["a", "weight"]  # add_weight_column defaults to True, as in 3LC


# -- the adapter against the fake ----------------------------------------------------------------------------------
@pytest.fixture
def fake_tlc(monkeypatch):
    import fake_tlc

    fake_tlc.reset()
    monkeypatch.setitem(sys.modules, "tlc", fake_tlc)  # restored after the test
    yield fake_tlc
    fake_tlc.reset()


@pytest.fixture
def tstore(fake_tlc, tmp_path):
    from curation.backends.tlc.tables import TlcTableStore

    return TlcTableStore(tmp_path / "tables-3lc", project="proj", root_url="/fake-3lc/projects")


VIDEOS = TableSpec("ds", "videos", "videos", "video_id", "label", "weight", ["normal", "collision"])


def make_videos(n: int = 10) -> pa.Table:
    return pa.table({"video_id": [f"v{i:03d}" for i in range(n)], "path": [f"train/v{i:03d}.mp4" for i in range(n)],
                     "label": pa.array([i % 2 for i in range(n)], pa.int32()),
                     "weight": pa.array([1.0] * n, pa.float32()),
                     "fps": pa.array([30.0 if i else None for i in range(n)], pa.float32())})


def calls(fake, chain):
    return [c for c in fake.CALLS if c.chain == chain]


def rows_by_id(store, rev):
    return {r["clip_id"]: r for r in store.read(rev).to_pylist()}


@pytest.fixture
def clips(tstore, fake_tlc):
    tstore.create(VIDEOS, make_videos(), message="ingest", display=Display(video_root="/data/nexar"))
    tstore.create(SPEC, make_clips(100), message="init")
    return tstore


def test_register_tables_with_schemas_and_lineage(clips, fake_tlc):
    s = clips
    videos, rev = s.head("ds", "videos"), s.head("ds", "clips")
    assert (rev.number, rev.parent, rev.rows, rev.op) == (1, None, 100, "create")
    assert rev.meta["tlc_url"] == "/fake-3lc/projects/proj/datasets/ds/tables/clips"
    assert s.read(rev).equals(make_clips(100))  # exact rows and types back
    assert s.read(rev, ["weight", "clip_id"]).column_names == ["weight", "clip_id"]
    with pytest.raises(BadInput, match="nope"):
        s.read(rev, ["nope"])
    video = pc.field("video_id") == "v003"  # a filtered read selects as the Lance store's does
    assert s.read(rev, ["clip_id"], where=video).to_pylist() == [{"clip_id": f"v003:{k}"} for k in range(10)]
    create = calls(fake_tlc, "tlc.Table.from_pandas")[-1].kwargs
    assert (create["project_name"], create["dataset_name"], create["table_name"]) == ("proj", "ds", "clips")
    assert create["if_exists"] == "raise" and create["add_weight_column"] is False
    assert create["input_tables"] == [videos.meta["tlc_url"]]  # clips derive from the videos table
    assert create["description"] == "init"
    kinds = {c: type(x).__name__ for c, x in create["schema"].items()}
    assert kinds == {"clip_id": "StringSchema", "video_id": "StringSchema", "label": "CategoricalLabelSchema",
                     "weight": "SampleWeightSchema", "end_frame": "Int32Schema"}
    assert create["schema"]["label"].kwargs == {"classes": ["normal", "collision"]}
    # videos: the relative path stays a string; a video URL column for the Dashboard is added, never read back
    vcreate = calls(fake_tlc, "tlc.Table.from_pandas")[0].kwargs
    assert type(vcreate["schema"]["path"]).__name__ == "StringSchema"
    assert type(vcreate["schema"]["video_url"]).__name__ == "VideoUrlSchema"
    assert vcreate["input_tables"] is None
    t = fake_tlc.Table.from_url(videos.meta["tlc_url"])
    assert t.get_column_as_pyarrow_array("video_url").to_pylist()[3] == "/data/nexar/train/v003.mp4"
    assert s.read(videos).equals(make_videos())  # nulls stay nulls, no video_url
    assert [x.name for x in s.list_tables()] == ["clips", "videos"]
    with pytest.raises(BadInput, match="exists"):
        s.create(SPEC, make_clips(10), message="again")
    with pytest.raises(BadInput, match="without rows"):
        s.create(TableSpec("ds", "test", "test", "clip_id", "label", "weight", ["a", "b"]), make_clips(5).slice(0, 0),
                 message="x")


def test_edit_is_one_new_3lc_revision_and_the_old_one_stays(clips, fake_tlc):
    s = clips
    r1 = s.head("ds", "clips")
    n_tables = len(fake_tlc.core._tables)
    r2 = s.edit("ds", "clips", Edit(delete={"v000:1", "v000:2"}, weights={"v001:0": 0.25},
                                    labels={"v001:1": 0}), message="fix")
    assert len(fake_tlc.core._tables) == n_tables + 1  # exactly one 3LC table
    assert len(calls(fake_tlc, "tlc._core.objects.tables.from_table.edited_table.EditedTable.__init__")) == 1
    assert (r2.number, r2.parent, r2.rows, r2.op) == (2, 1, 98, "edit")
    assert r2.counts == {"deleted": 2, "reweighted": 1, "relabeled": 1}
    new, old = rows_by_id(s, r2), rows_by_id(s, r1)
    assert "v000:1" not in new and "v000:1" in old and len(old) == 100
    assert new["v001:0"]["weight"] == 0.25 and old["v001:0"]["weight"] == 1.0
    assert new["v001:1"]["label"] == 0 and old["v001:1"]["label"] == 1
    assert new["v005:3"]["end_frame"] == old["v005:3"]["end_frame"]
    assert fingerprint(s.read(r2), SPEC) == r2.fingerprint != r1.fingerprint == fingerprint(s.read(r1), SPEC)
    t2 = fake_tlc.Table.from_url(r2.meta["tlc_url"])
    assert t2.description == "fix" and t2.url.name == "clips_r0002"
    assert t2.edits == {"weight": {"runs_and_values": [[10], 0.25]}, "label": {"runs_and_values": [[11], 0]},
                        "SHOULD_DELETE": {"runs_and_values": [[1, -2], True]}}
    # a pure deletion goes through the public Table.delete_rows
    r3 = s.edit("ds", "clips", Edit(delete={"v009:9"}), message="drop")
    assert calls(fake_tlc, "tlc.Table.delete_rows")[-1].kwargs == {"table_name": "clips_r0003",
                                                                    "description": "drop"}
    assert r3.rows == 97 and "v009:9" not in rows_by_id(s, r3)
    # an edit that changes nothing makes no revision
    assert s.edit("ds", "clips", Edit(weights={"v000:0": 1.0}), message="same").number == 3


def test_revision_numbers_are_the_3lc_lineage_chain(clips, fake_tlc):
    s = clips
    for k in range(3):
        s.edit("ds", "clips", Edit(weights={f"v00{k}:0": 0.5}), message=f"e{k}")
    revs = s.revisions("ds", "clips")
    assert [r.number for r in revs] == [1, 2, 3, 4]
    urls = [r.meta["tlc_url"] for r in revs]
    assert len(set(urls)) == 4
    # walking 3LC's lineage from the latest table back to the root gives the revisions, newest first
    root = fake_tlc.Table.from_url(urls[0])
    t, chain = root.latest(), []
    while True:
        chain.append(str(t.url))
        if str(t.url) == urls[0]:
            break
        t = fake_tlc.Table.from_url(t.input_table_url.url.to_absolute(t.url))
    assert chain[::-1] == urls
    assert s.head("ds", "clips").meta["tlc_url"] == str(root.latest().url)
    # pinned revisions read by their url, unchanged by later edits
    assert rows_by_id(s, s.revision("ds", "clips", 2))["v000:0"]["weight"] == 0.5
    assert rows_by_id(s, s.revision("ds", "clips", 2))["v001:0"]["weight"] == 1.0
    assert resolve(s, "clips@latest", "ds").number == 4 and resolve(s, "clips@2", "ds").number == 2
    with pytest.raises(NotFound):
        s.revision("ds", "clips", 9)
    s.set_tag("ds", "clips", "round-1", 2)
    assert resolve(s, "clips@round-1", "ds").number == 2
    with pytest.raises(BadInput):
        s.set_tag("ds", "clips", "round-1", 3)


def test_unknown_ids_reject_the_whole_edit_and_write_nothing(clips, fake_tlc):
    s = clips
    before = dict(fake_tlc.core._tables)
    with pytest.raises(NotFound, match="1 unknown id"):
        s.edit("ds", "clips", Edit(delete={"v000:0"}, weights={"nope": 0.5}), message="x")
    with pytest.raises(BadInput):
        s.edit("ds", "clips", Edit(labels={"v000:0": 5}), message="x")
    with pytest.raises(BadInput):
        s.edit("ds", "clips", Edit(weights={"v000:0": -1.0}), message="x")
    assert fake_tlc.core._tables == before
    assert not calls(fake_tlc, "tlc.Table.delete_rows")
    assert [r.number for r in s.revisions("ds", "clips")] == [1]


def test_ids_map_to_row_indices_of_the_edited_revision(clips, fake_tlc):
    s = clips
    s.edit("ds", "clips", Edit(delete={"v000:1", "v000:3"}), message="drop two")
    # in revision 2, v000:5 sits at row 3 and v000:6 at row 4 (rows 1 and 3 are gone)
    r3 = s.edit("ds", "clips", Edit(weights={"v000:5": 0.0}, labels={"v000:6": 1}, delete={"v000:7"}),
                message="after deletions")
    edits = fake_tlc.Table.from_url(r3.meta["tlc_url"]).edits
    assert edits["weight"] == {"runs_and_values": [[3], 0.0]}
    assert edits["label"] == {"runs_and_values": [[4], 1]}
    assert edits["SHOULD_DELETE"] == {"runs_and_values": [[5], True]}
    rows = rows_by_id(s, r3)
    assert rows["v000:5"]["weight"] == 0.0 and rows["v000:4"]["weight"] == 1.0 and rows["v000:6"]["weight"] == 1.0
    assert rows["v000:6"]["label"] == 1 and rows["v000:4"]["label"] == 0 and rows["v000:8"]["label"] == 0
    assert "v000:7" not in rows and "v000:8" in rows
    assert r3.rows == 97 and fingerprint(s.read(r3), SPEC) == r3.fingerprint


def test_stale_base_conflicts_on_overlap_unless_rebased_and_revert_replace_copy(clips, fake_tlc):
    s = clips
    r1 = s.head("ds", "clips")
    s.edit("ds", "clips", Edit(weights={"v000:0": 0.5}), message="first", base=1)
    with pytest.raises(Conflict):
        s.edit("ds", "clips", Edit(weights={"v000:0": 0.25, "v000:1": 0.5}), message="second", base=1)
    rev = s.edit("ds", "clips", Edit(weights={"v000:1": 0.5}), message="second", base=1)  # disjoint: applies
    assert rev.meta["rebased_from"] == 1
    rows = rows_by_id(s, rev)
    assert rows["v000:0"]["weight"] == 0.5 and rows["v000:1"]["weight"] == 0.5
    r4 = s.revert("ds", "clips", 1, message="back")
    assert (r4.number, r4.op, r4.fingerprint) == (4, "revert", r1.fingerprint)
    assert r4.counts["reweighted"] == 2 and r4.counts["reverted_to"] == 1
    assert s.read(r4).equals(s.read(r1))
    copy = calls(fake_tlc, "tlc.Table.from_pandas")[-1].kwargs
    assert copy["input_tables"][0] == rev.meta["tlc_url"] and copy["table_url"].name == "clips_r0004"
    r5 = s.replace("ds", "clips", make_clips(90), message="re-ingest")
    assert r5.number == 5 and r5.rows == 90 and r5.counts["deleted"] == 10
    assert s.read(s.revision("ds", "clips", 1)).num_rows == 100


def test_head_follows_3lc_latest_but_adopts_only_plain_edits_on_top(clips, fake_tlc):
    s = clips
    # clips@1 lists videos@1 as input, so 3LC's latest() of videos@1 is the clips table: not a videos revision
    videos1 = s.head("ds", "videos").meta["tlc_url"]
    assert str(fake_tlc.Table.from_url(videos1).latest().url).endswith("/clips")
    assert s.head("ds", "videos").number == 1
    # a table curate wrote without committing it (a killed writer) is not adopted either
    head_table = fake_tlc.Table.from_url(s.head("ds", "clips").meta["tlc_url"])
    head_table.delete_rows([0], table_name="clips_r0002")
    assert s.head("ds", "clips").number == 1
    r2 = s.edit("ds", "clips", Edit(delete={"v000:5"}), message="next")
    assert r2.number == 2 and r2.meta["tlc_url"].endswith("clips_r0002_0000") and "v000:0" in rows_by_id(s, r2)
    # a Dashboard commit on top of the head becomes the next revision
    EditedTable = fake_tlc._core.objects.tables.from_table.edited_table.EditedTable
    t2 = fake_tlc.Table.from_url(r2.meta["tlc_url"])
    dash = EditedTable(url=t2.url.create_sibling("clips_edited").create_unique(), input_table_url=t2,
                       edits={"weight": {"runs_and_values": [[0, -1], 0.0]}}, description="dashboard fix")
    dash.ensure_fully_defined()
    head = s.head("ds", "clips")
    assert (head.number, head.parent, head.op, head.message) == (3, 2, "edit", "dashboard fix")
    assert head.counts == {"added": 0, "deleted": 0, "reweighted": 2, "relabeled": 0} and head.meta["adopted"]
    assert [r.number for r in s.revisions("ds", "clips")] == [1, 2, 3]
    r4 = s.edit("ds", "clips", Edit(weights={"v000:2": 0.5}), message="after dashboard", base=3)
    rows = rows_by_id(s, r4)
    assert rows["v000:0"]["weight"] == 0.0 and rows["v000:1"]["weight"] == 0.0 and rows["v000:2"]["weight"] == 0.5


def test_following_3lc_latest_fails_loudly_on_an_api_change_and_quietly_on_an_unindexed_table(clips, fake_tlc,
                                                                                              monkeypatch):
    """A table 3LC has not indexed (ValueError, as `Table.latest` documents) leaves the head where it is; a changed
    API (here `latest` gone: AttributeError) is an error, never "nothing to adopt"."""
    s = clips

    def unindexed(self, timeout=30.0):
        raise ValueError("Url is not present in the indexed Url set.")

    monkeypatch.setattr(fake_tlc.Table, "latest", unindexed)
    assert s.head("ds", "clips").number == 1
    monkeypatch.delattr(fake_tlc.Table, "latest")
    with pytest.raises(AttributeError):
        s.head("ds", "clips")


def test_open_tlc_store_needs_tlc(monkeypatch, tmp_path):
    from curation.backends import open_store
    from curation.backends.tlc.client import BackendUnavailable
    from curation.backends.tlc.tables import TlcTableStore

    monkeypatch.setitem(sys.modules, "tlc", None)  # import tlc raises ImportError
    with pytest.raises(BackendUnavailable) as err:
        open_store("3lc", tmp_path)
    assert "\n" not in str(err.value) and "embedded store (backend lance)" in str(err.value)
    assert err.value.fix.action == "use_lance"  # the command line says --backend lance (test_cli)
    import fake_tlc

    monkeypatch.setitem(sys.modules, "tlc", fake_tlc)
    monkeypatch.delenv("CURATE_TLC_PROJECT", raising=False)
    (tmp_path / "my work").mkdir()
    store = open_store("3lc", tmp_path / "my work")
    assert isinstance(store, TlcTableStore) and store.project == "my-work"
    assert store.root == tmp_path / "my work" / "tables-3lc"


# -- real 3LC ------------------------------------------------------------------------------------------------------
def _real_tlc_reason() -> str | None:
    if not os.environ.get("TLC_API_KEY"):
        return "needs TLC_API_KEY (3LC validates the key online at import)"
    from curation.backends.tlc.client import BackendUnavailable, import_tlc

    try:
        mod = import_tlc()
    except BackendUnavailable as exc:
        return f"`import tlc` fails here: {exc.problem}"
    if getattr(mod, "__name__", "") != "tlc" or not hasattr(mod, "__version__"):
        return "tlc is not the real package"
    return None


def test_real_3lc_round_trip(tmp_path):
    reason = _real_tlc_reason()
    if reason:
        pytest.skip(reason)
    from curation.backends.tlc.tables import TlcTableStore

    s = TlcTableStore(tmp_path / "tables-3lc", project="curate-test", root_url=str(tmp_path / "3lc-projects"))
    r1 = s.create(SPEC, make_clips(30), message="init")
    assert s.read(r1).equals(make_clips(30))
    r2 = s.edit("ds", "clips", Edit(delete={"v000:1"}, weights={"v000:2": 0.5}, labels={"v000:3": 0}),
                message="fix")
    r3 = s.edit("ds", "clips", Edit(delete={"v000:4"}), message="drop")
    assert (r2.rows, r3.rows) == (29, 28)
    rows = {r["clip_id"]: r for r in s.read(r3).to_pylist()}
    assert rows["v000:2"]["weight"] == 0.5 and rows["v000:3"]["label"] == 0 and "v000:4" not in rows
    assert s.read(r1).num_rows == 30 and fingerprint(s.read(r2), SPEC) == r2.fingerprint
    r4 = s.revert("ds", "clips", 1, message="back")
    assert r4.fingerprint == r1.fingerprint and s.head("ds", "clips").number == 4


def test_real_3lc_run(tmp_path):
    reason = _real_tlc_reason()
    if reason:
        pytest.skip(reason)
    import tlc

    from curation.backends.tlc.runs import TlcRunStore
    from curation.backends.tlc.tables import TlcTableStore

    s = TlcTableStore(tmp_path / "tables-3lc", project="curate-test", root_url=str(tmp_path / "3lc-projects"))
    s.create(SPEC, make_clips(30), message="init")
    rev = s.edit("ds", "clips", Edit(delete={"v000:1"}), message="drop")
    runs = TlcRunStore(tmp_path / "runs", s)
    run = runs.create()
    runs.write_record(run, _run_info(rev))
    runs.write_dynamics(run, 1, _dynamics(["v000:2", "v000:3"]))
    runs.write_record(run, _run_info(rev, "completed", [{"epoch": 1, "train_loss": 0.7}]))
    handle = tlc.Run.from_url(runs._state(run)["run_url"])
    assert len(handle.metrics_tables) == 1
    ids = handle.metrics_tables[0].get_column_as_pyarrow_array("example_id").to_pylist()
    assert sorted(ids) == [1, 2]  # v000:2 and v000:3 are rows 1 and 2 once v000:1 is deleted


def test_ingest_through_the_3lc_backend_matches_the_lance_store(fake_tlc, tmp_path, monkeypatch):
    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar
    from curation.synth import generate
    from curation.workspace import Workspace

    root = tmp_path / "data"
    generate(root, n_train=4, n_test=2, width=64, height=48, duration_s=3.0, test_duration_s=2.0, n_corrupt=1,
             seed=5, progress=False)
    monkeypatch.delenv("CURATE_TLC_ROOT", raising=False)
    results = {}
    for backend in ("lance", "3lc"):
        ws = Workspace.open(tmp_path / f"ws-{backend}", backend=backend)
        result = ingest(ws, read_nexar(root), "nexar", IngestOptions(frame_size=32), progress=False)
        results[backend] = (ws, result)
    (lws, lres), (tws, tres) = results["lance"], results["3lc"]
    assert tres.revisions == lres.revisions and set(tres.revisions) == {"videos", "frames", "clips", "test"}
    for spec in lws.tables.list_tables():
        a = lws.tables.read(lws.tables.head("nexar", spec.name))
        b = tws.tables.read(tws.tables.head("nexar", spec.name))
        assert b.equals(a), spec.name  # same rows, types and nulls
        assert tws.tables.spec("nexar", spec.name) == spec
    creates = {c.kwargs["table_name"]: c.kwargs for c in calls(fake_tlc, "tlc.Table.from_pandas")}
    assert creates["clips"]["project_name"] == "ws-3lc"
    videos_url = tws.tables.head("nexar", "videos").meta["tlc_url"]
    assert creates["clips"]["input_tables"] == creates["frames"]["input_tables"] == [videos_url]
    assert "video_url" in creates["videos"]["schema"] and "weight" not in creates["frames"]["schema"]
    image = creates["frames"]["schema"]["image"]  # frames are image URL columns: JPEG files from the cache
    assert type(image).__name__ == "ImageSchema" and image.kwargs == {"sample_type": "url"}
    frames_url = tws.tables.head("nexar", "frames").meta["tlc_url"]
    table = fake_tlc.Table.from_url(frames_url)
    paths = table.get_column_as_pyarrow_array("image").to_pylist()
    ids = table.get_column_as_pyarrow_array("frame_id").to_pylist()
    from curation.frames.cache import FrameReader

    reader = FrameReader(tws.cache("nexar").root)
    for frame_id, path in list(zip(ids, paths))[:: max(1, len(ids) // 5)]:
        assert Path(path).read_bytes() == reader.read([frame_id])[0]


# -- runs on 3LC ---------------------------------------------------------------------------------------------------
def _run_info(revision, status="running", epochs=()):
    from curation.runs.record import RunInputs, RunRecord

    inputs = RunInputs(dataset=revision.dataset, table=revision.table, revision=revision.number, ref=revision.ref,
                       fingerprint=revision.fingerprint, val={"ref": revision.ref})
    return RunRecord(run="run-x", status=status, config={"model": "mvit_tiny", "lr": 5e-4, "fold": None},
                     inputs=inputs, model={"name": "mvit_tiny"}, epochs=list(epochs))


def _dynamics(ids, epoch=1):
    n = len(ids)
    return pa.table({"clip_id": ids, "epoch": pa.array([epoch] * n, pa.int32()),
                     "loss": pa.array([0.5 + i for i in range(n)], pa.float32()),
                     "prob": pa.array([0.25] * n, pa.float32()), "margin": pa.array([0.1] * n, pa.float32())})


@pytest.fixture
def tlc_runs(clips, tmp_path):
    from curation.backends.tlc.runs import TlcRunStore

    return TlcRunStore(tmp_path / "runs", clips)


def test_run_store_maps_clip_ids_to_row_indices_of_the_exact_revision(clips, tlc_runs, fake_tlc):
    r1 = clips.head("ds", "clips")
    r2 = clips.edit("ds", "clips", Edit(delete={"v000:0", "v000:1", "v000:5"}), message="drop 3")
    run = tlc_runs.create("r")
    tlc_runs.write_record(run, _run_info(r2))
    ids = ["v000:2", "v001:3", "v000:2", "v004:9"]  # v000:2 drawn twice in the epoch
    tlc_runs.write_dynamics(run, 1, _dynamics(ids))
    tlc_runs.write_record(run, _run_info(r2, "completed", [{"epoch": 1, "train_loss": 0.7, "val": {"mAP": 0.5}}]))
    [handle] = fake_tlc.runs().values()
    assert str(handle.url) == f"/fake-3lc/projects/proj/runs/{run}"
    assert handle.parameters["revision_url"] == r2.meta["tlc_url"] != r1.meta["tlc_url"]
    assert handle.parameters["config.model"] == "mvit_tiny" and handle.parameters["inputs.revision"] == 2
    assert handle.inputs == [{"input_table_url": r2.meta["tlc_url"], "num_examples": 97}]
    assert handle.outputs == [{"epoch": 1, "train_loss": 0.7, "val.mAP": 0.5}]  # logged once, flat keys
    assert handle.status == 2  # completed
    [(foreign, metrics)] = handle.metrics
    assert foreign == r2.meta["tlc_url"]
    table_ids = fake_tlc.Table.from_url(foreign).get_column_as_pyarrow_array("clip_id").to_pylist()
    rows = metrics.to_pylist()
    assert sorted(r["clip_id"] for r in rows) == ["v000:2", "v001:3", "v004:9"]
    for r in rows:  # the 3LC row at example_id is that very clip, in the revision after the deletions
        assert table_ids[r["example_id"]] == r["clip_id"] and r["epoch"] == 1
    by_id = {r["clip_id"]: r for r in rows}
    assert by_id["v000:2"]["draws"] == 2 and by_id["v000:2"]["loss"] == pytest.approx(0.5 + 1)  # mean of 0.5, 2.5
    assert by_id["v000:2"]["example_id"] == 0  # row 2 in revision 1, row 0 once rows 0 and 1 are gone
    add = calls(fake_tlc, "tlc.Run.add_metrics")[0].kwargs
    assert add["constants"] == {"epoch": 1} and type(add["schema"]["prob"]).__name__ == "ProbabilitySchema"
    # local copy is what curate reads back
    assert tlc_runs.record(run).status == "completed" and tlc_runs.dynamics(run).num_rows == 4


def test_run_store_writes_collections_with_embedding_and_map_schemas(clips, tlc_runs, fake_tlc, caplog):
    rev = clips.head("ds", "clips")
    run = tlc_runs.create()
    tlc_runs.write_record(run, _run_info(rev))
    ids = ["v003:1", "v000:4"]
    emb = pa.FixedSizeListArray.from_arrays(pa.array([0.5, -1.0, 2.0, 0.0, 1.0, 3.0], pa.float16()), 3)
    table = pa.table({"clip_id": ids, "prob": pa.array([0.9, 0.1], pa.float32()),
                      "loss": pa.array([0.1, 2.3], pa.float32()), "pred": pa.array([1, 0], pa.int32()),
                      "embedding": emb, "map_x": pa.array([1.5, -2.0], pa.float32()),
                      "map_y": pa.array([0.0, 4.0], pa.float32())})
    tlc_runs.write_collection(run, f"clips@{rev.number}", table)
    [(foreign, metrics)] = next(iter(fake_tlc.runs().values())).metrics
    assert foreign == rev.meta["tlc_url"]
    rows = {r["clip_id"]: r for r in metrics.to_pylist()}
    assert rows["v000:4"]["embedding"] == [0.0, 1.0, 3.0] and rows["v003:1"]["map_2d"] == [1.5, 0.0]
    schema = calls(fake_tlc, "tlc.Run.add_metrics")[0].kwargs["schema"]
    assert type(schema["embedding"]).__name__ == "EmbeddingSchema" and schema["embedding"].kwargs == {"shape": 3}
    assert schema["map_2d"].kwargs == {"shape": 2, "number_role": "xy_component"}
    # a features-only pass (a run's start, read by its label issues) stays local: it is not metrics of the run
    tlc_runs.write_collection(run, f"clips@{rev.number}-start", table.select(["clip_id", "embedding"]))
    assert len(next(iter(fake_tlc.runs().values())).metrics) == 1 and "could not write" not in caplog.text
    assert f"clips@{rev.number}-start" in tlc_runs.collections(run)


def test_a_failed_3lc_write_warns_keeps_the_local_run_and_is_retried(clips, tlc_runs, fake_tlc, monkeypatch,
                                                                      caplog):
    rev = clips.head("ds", "clips")
    run = tlc_runs.create()
    monkeypatch.setattr(fake_tlc.Run, "set_parameters", lambda self, p: (_ for _ in ()).throw(OSError("disk full")))
    tlc_runs.write_record(run, _run_info(rev, epochs=[{"epoch": 1, "train_loss": 0.7}]))
    assert "could not write run info" in caplog.text and "disk full" in caplog.text
    assert tlc_runs.record(run).epochs[0]["train_loss"] == 0.7  # the local run is whole
    [handle] = fake_tlc.runs().values()
    assert handle.outputs == [] and handle.parameters == {}
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "tlc", fake_tlc)
    tlc_runs.write_record(run, _run_info(rev, epochs=[{"epoch": 1, "train_loss": 0.7},
                                                      {"epoch": 2, "train_loss": 0.6}]))
    assert [o["epoch"] for o in handle.outputs] == [1, 2] and handle.parameters["revision_url"] == rev.meta["tlc_url"]
    assert list(fake_tlc.runs()) == [str(handle.url)]  # the same 3LC run, not a second one


@pytest.mark.slow  # a training run through the 3LC backend, end to end
def test_training_on_the_3lc_backend_writes_a_3lc_run(fake_tlc, tmp_path, monkeypatch):
    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar
    from curation.review.metrics import clip_metrics
    from curation.synth import generate
    from curation.train.config import TrainConfig
    from curation.train.loop import train
    from curation.workspace import Workspace

    generate(tmp_path / "data", n_train=6, n_test=2, width=64, height=48, duration_s=3.0, test_duration_s=2.0,
             seed=3, progress=False)
    monkeypatch.delenv("CURATE_TLC_ROOT", raising=False)
    monkeypatch.delenv("CURATE_TLC_PROJECT", raising=False)
    ws = Workspace.open(tmp_path / "lab", backend="3lc")
    ingest(ws, read_nexar(tmp_path / "data"), "nexar", IngestOptions(frame_size=32), progress=False)
    head = ws.resolve("clips")
    rows = ws.tables.read(head, ["clip_id", "split"]).to_pylist()
    dropped = [r["clip_id"] for r in rows if r["split"] == "train"][:3]
    edited = ws.tables.edit("nexar", "clips", Edit(delete=set(dropped)), message="drop", base=head.number)
    run = train(ws, TrainConfig(table="latest", model="mvit_tiny", weights="none", epochs=1, draws_per_epoch=16,
                                batch_size=4, workers=0), echo=lambda *a: None, progress=False)
    [handle] = fake_tlc.runs().values()
    assert str(handle.url) == f"{fake_tlc.DEFAULT_ROOT}/lab/runs/{run}" and handle.status == 2
    assert handle.parameters["revision_url"] == edited.meta["tlc_url"]
    assert [o["epoch"] for o in handle.outputs] == [1] and "val.mAP" in handle.outputs[0]
    by_table = {}
    for foreign, metrics in handle.metrics:
        by_table.setdefault(foreign, []).append(metrics)
    test_url = ws.tables.head("nexar", "test").meta["tlc_url"]
    assert set(by_table) == {edited.meta["tlc_url"], test_url}  # dynamics + collection, and the test collection
    table_ids = fake_tlc.Table.from_url(edited.meta["tlc_url"]).get_column_as_pyarrow_array("clip_id").to_pylist()
    for metrics in by_table[edited.meta["tlc_url"]]:
        assert all(table_ids[r["example_id"]] == r["clip_id"] for r in metrics.to_pylist())
    collected = max(by_table[edited.meta["tlc_url"]], key=lambda t: t.num_rows)
    assert collected.num_rows == edited.rows and "embedding" in collected.column_names
    assert clip_metrics(ws, run).num_rows > 0  # review reads the local copy


def test_each_backend_is_a_package_that_reaches_nothing_above_the_table_protocol():
    """`tlc` is imported only inside the 3LC package (its client); no backend imports ingest or the workspace
    (what they show beside the data is handed over as a Display)."""
    import ast

    root = PACKAGE.parents[1]
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                if name == "tlc" or name.startswith("tlc."):
                    assert path == ADAPTER, f"{path.relative_to(root)} imports {name}"
                if path.is_relative_to(root / "backends"):
                    assert not name.startswith(("curation.ingest", "curation.workspace")), \
                        f"{path.relative_to(root)} imports {name}"
