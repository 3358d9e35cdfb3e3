"""A hostile and careless input sweep over every command and every API route.

    uv run python bench/hostile.py [--workspace WS] [--keep]

Builds a small workspace (a synthetic dataset with flaws, ingested, one tiny trained run) unless given one, then
runs generated cases: each command with each hostile value in each of its slots, each kind of input file broken
in each way, each API route with hostile parameters and bodies, and kinds of value given to every option of
their kind, found by reading the commands' own options (a new option is covered without a new case): non-finite
and huge numbers to every numeric option, a folder, a missing file and a device to every path, unreachable and
invalid addresses to every address. A case passes when it ends with exit code 0 or 2 (HTTP: anything but 5xx,
and a JSON problem on a refusal; 1 with one line for a run that started and then failed), prints no
traceback, does not run 10 s without a word (a hang), and — when refused — leaves every file of the workspace as
it was. Prints the counts and every failing case; exit code 1 if any fails.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VALUES = ["", " ", "-1", "0", "1e400", "nan", "-inf", "9223372036854775808", "x" * 300, "../../etc/passwd",
          "/dev/null", "clips@999", "nope/clips@1", "@/no/such/file", "tökén ☃", "[1]", "{\"a\": 1}", "'; rm -rf ~",
          "__import__('os').system('true')", "a,b,,c"]

# Commands with one slot ({}) for a hostile value; each runs once per value.
COMMANDS = [
    ["show", "{}"], ["show", "clips", "--where", "{}"], ["show", "clips", "--sort", "{}"],
    ["show", "clips", "--columns", "{}"], ["show", "clips", "--run", "{}"], ["show", "clips", "-n", "{}"],
    ["log", "{}"], ["diff", "clips@1", "{}"], ["tag", "clips@1", "{}"], ["tag", "{}", "good"],
    ["revert", "{}"], ["edit", "clips", "--delete", "{}", "-m", "x"],
    ["edit", "clips", "--weight", "{}", "--ids", "@first", "-m", "x"],
    ["edit", "clips", "--label", "{}", "--ids", "@first", "-m", "x"],
    ["edit", "clips", "--weight", "0", "--where", "{}", "-m", "x"], ["edit", "clips", "--from", "{}", "-m", "x"],
    ["train", "--table", "{}"], ["train", "--lr", "{}"], ["train", "--batch-size", "{}"], ["train", "--resume", "{}"],
    ["train", "--seeds", "{}"], ["train", "--name", "{}"], ["train", "--val-table", "{}"],
    ["evaluate", "--run", "{}"], ["evaluate", "--table", "{}"], ["evaluate", "--split", "{}"],
    ["collect", "--run", "1", "--table", "{}"], ["compare", "1", "{}"], ["compare", "1", "1", "--on", "{}"],
    ["compare", "1", "1", "--metric", "{}"], ["suggest", "--run", "{}"], ["suggest", "--threshold", "{}"],
    ["suggest", "--label-value", "{}"], ["suggest", "--runs", "{}"], ["report", "--run", "{}"],
    ["report", "--table", "{}"], ["report", "--worst", "{}"], ["import-predictions", "{}", "@preds"],
    ["import-predictions", "ext", "{}"], ["import-predictions", "ext", "@preds", "--table", "{}"],
    ["export", "{}", "-o", "@out"], ["export", "clips", "-o", "{}"], ["submit", "--run", "{}", "-o", "@out"],
    ["submit", "--table", "{}", "-o", "@out"], ["ingest", "nexar", "{}"], ["ingest", "manifest", "{}"],
    ["ingest", "events", "{}"], ["ingest", "qa", "{}"], ["ingest", "nexar", "@data", "--split", "{}"],
    ["ingest", "nexar", "@data", "--name", "{}"], ["ingest", "events", "@events", "--alpha", "{}"],
    ["dashboard", "--port", "{}"], ["dashboard", "--host", "{}"], ["dashboard", "--allow-host", "{}"],
]

# Input files broken in each way: (file name, content). Each is given to every command that reads that kind.
BROKEN = {
    "csv": [b"", b"\xef\xbb\xbf", b"id\n", b"\xff\xfe\x00garbage\x00", b"id,action\n" + b"x" * 3_000_000,
            b"id,action,action\na,delete,delete\n", b'id,action\n"unclosed,delete\n', b"id,action\na\n",
            b"id,action,value\na,weight,nan\n", b"id,action,value\n,delete,\n", b"path,label\n\n\n",
            b"id,pred,prob\n@first,normal,1e400\n", b"id,pred,prob\n@first,normal,0.5\n@first,normal,0.5\n",
            b"path,group,event_s\nv.mp4,g,-3\n", b"path,label,split\nv.mp4,a,holdout\n"],
    "json": [b"", b"\xef\xbb\xbf{}", b"[" * 100_000, b'{"data": 3}', b'{"data": [null]}', b'{"data": [{"id": []}]}',
             b'[{"id": "@first", "pred": {"x": 1}, "prob": 0.5}]', b'{"data": [{"id": "q", "choices": "AB"}]}',
             b"\x00\x01\x02", b'"just a string"'],
}
FILE_COMMANDS = {"csv": [["edit", "clips", "--from", "{}", "-m", "x"], ["import-predictions", "ext", "{}"],
                         ["ingest", "manifest", "{}"], ["ingest", "events", "{}"], ["edit", "clips", "--delete",
                                                                                    "@{}", "-m", "x"]],
                 "json": [["ingest", "qa", "{}"], ["import-predictions", "ext", "{}"]]}

# Kinds of value, each given to every option of its kind (options are read from the commands themselves).
NUMBERS = ["nan", "inf", "-inf", "1e400", "99999999999999999999999", "-99999999999999999999999"]
PATHS = ["@dir", "@missing", "/dev/null"]  # a folder, nothing at all, a device: where a file or folder belongs
ADDRESSES = ["256.1.1.1", "nowhere.invalid", "192.0.2.1", ""]  # not an address; no such name; no machine here
CLUSTERS = ["nowhere.invalid:1", "127.0.0.1:1", "256.1.1.1:6379", "auto", "garbage"]
NUMBER_TEXT = {"--duration", "--test-duration", "--time-noise", "--split", "--seeds", "--weight", "--label-value"}
ADDRESS_OPTIONS = {"--host": ADDRESSES, "--allow-host": ADDRESSES, "--ray": CLUSTERS}
PATH_NAMES = {"out", "root", "folder", "path", "file", "json_path", "csv_path", "test_json", "plot", "from_file"}
# What each command needs besides the option under test, so that the hostile value is what is wrong.
BASE = {"compare": ["1", "1"], "diff": ["clips@1", "clips@1"], "edit": ["clips", "-m", "x"],
        "export": ["clips", "-o", "@out"], "import-predictions": ["ext", "@preds"], "log": ["clips"],
        "revert": ["clips@1", "-m", "x"], "show": ["clips"], "tag": ["clips@1", "t"],
        "synth": ["@synth", "--train", "4", "--test", "1", "--width", "64", "--height", "64"],
        "ingest": ["@data"], "submit": ["-o", "@out"], "suggest": ["-o", "@out"], "report": ["-o", "@out"]}
NEVER = {"demo", "--workspace"}  # the demo trains for minutes whatever it is given; -w is the sweep's own
HANG_S = 10

TINY = ["--model", "mvit_tiny", "--weights", "none", "--epochs", "1", "--draws", "4", "--batch-size", "2",
        "--workers", "0"]

ROUTES_GET = ["/api/tables", "/api/log?table={}", "/api/samples?table={}", "/api/samples?table=clips&offset={}",
              "/api/samples?table=clips&limit={}", "/api/samples?table=clips&where={}",
              "/api/samples?table=clips&sort={}", "/api/samples?table=clips&run={}", "/api/map?table=clips&run={}",
              "/api/map?table=clips&run=1&colour={}", "/api/clip?table=clips&id={}", "/api/diff?a=clips@1&b={}",
              "/api/suggestions?run={}", "/api/run?run={}", "/api/frames/nexar/{}", "/api/frames/{}/x",
              "/static/{}"]
POST_BODIES = {"/api/edits": lambda v: [{"table": v, "message": "m", "edits": [{"id": "@first", "action": "delete"}]},
                                        {"table": "clips@1", "message": v, "edits": [{"id": "@first",
                                                                                      "action": "delete"}]},
                                        {"table": "clips@1", "message": "m", "edits": [{"id": v, "action": "delete"}]},
                                        {"table": "clips@1", "message": "m", "edits": [{"id": "@first",
                                                                                      "action": "weight",
                                                                                      "value": v}]},
                                        {"table": "clips@1", "message": "m", "edits": v}],
               "/api/tag": lambda v: [{"table": "clips@1", "tag": v}, {"table": v, "tag": "good"}],
               "/api/revert": lambda v: [{"table": v}, {"table": "clips@1", "message": v}]}
RAW_BODIES = [b"", b"{", b"[" * 100_000, b"\xff\xfe", b"null", b"[]", b'"s"', b'{"table": 1e400}']


@dataclass
class Report:
    cases: int = 0
    tracebacks: list = field(default_factory=list)
    server_errors: list = field(default_factory=list)
    writes_after_refusal: list = field(default_factory=list)
    bad_exit: list = field(default_factory=list)
    hangs: list = field(default_factory=list)  # ran HANG_S seconds without printing a word

    def failures(self) -> int:
        return (len(self.tracebacks) + len(self.server_errors) + len(self.writes_after_refusal) + len(self.bad_exit)
                + len(self.hangs))


def snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def build_workspace(root: Path) -> Path:
    """A synthetic dataset with label flips, a duplicate pair and a corrupt video; ingested; one tiny run."""
    from curation.ingest.pipeline import IngestOptions, ingest
    from curation.ingest.layouts import read_nexar
    from curation.synth import generate
    from curation.train.config import TrainConfig
    from curation.train.loop import train
    from curation.workspace import Workspace

    generate(root / "data", seed=6, n_train=12, n_test=3, width=96, height=64, duration_s=4.0, test_duration_s=3.0,
             label_noise=0.2, n_duplicates=2, n_corrupt=1, progress=False)
    ws = Workspace.open(root / "ws", backend="lance")
    ingest(ws, read_nexar(root / "data"), "nexar", IngestOptions(frame_size=32), progress=False)
    train(ws, TrainConfig(model="mvit_tiny", weights="none", epochs=1, batch_size=4, workers=0, draws_per_epoch=16),
          echo=lambda *_: None, progress=False)
    return root / "ws"


class TimeUp(BaseException):
    """Raised in a case that ran HANG_S seconds (by SIGALRM): work that went on, or a hang if it said nothing."""


def _time_up(signum, frame):
    raise TimeUp


def run_cli(args: list[str], limit_s: float = HANG_S) -> tuple[int | str, str]:
    """The command in this process; (exit code, stdout + stderr); an escaped exception is a traceback (-1), and
    a command still running after `limit_s` is stopped ("time up")."""
    from curation.cli import main

    out = io.StringIO()
    code: int | str = 0
    previous = signal.signal(signal.SIGALRM, _time_up)
    signal.setitimer(signal.ITIMER_REAL, limit_s)
    with redirect_stdout(out), redirect_stderr(out):
        try:
            main(args)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
        except TimeUp:
            code = "time up"
        except BaseException:  # noqa: BLE001 — what the sweep looks for
            traceback.print_exc(file=out)
            code = -1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return code, out.getvalue()


def _commands(group=None, path=()):
    """(command path, click command) of every command under `group` (default: curate)."""
    import click

    from curation.cli import cli

    group = group or cli
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def kind_cases() -> list[list[str]]:
    """Every option of every command given each value of its kind, on top of what the command needs."""
    import click

    numeric = (click.types.IntParamType, click.types.FloatParamType)
    cases = []
    for path, command in _commands():
        if path[0] in NEVER:
            continue
        base = BASE.get(path[0], [])
        for param in command.params:
            name = param.opts[0] if isinstance(param, click.Option) else param.name
            if name in NEVER or getattr(param, "is_flag", False) or isinstance(param.type, click.Choice):
                continue
            if isinstance(param, click.Option) and (isinstance(param.type, numeric) or name in NUMBER_TEXT):
                values = NUMBERS
            elif name in ADDRESS_OPTIONS:
                values = ADDRESS_OPTIONS[name]
            elif isinstance(param.type, click.Path) or param.name in PATH_NAMES:
                values = PATHS
            else:
                continue
            for value in values:
                if isinstance(param, click.Argument):  # in the place of the base's first positional value
                    cases.append([*path, value, *base[1:]] if base and not base[0].startswith("-") else
                                 [*path, value])
                else:
                    cases.append([*path, *base, name, value])
    return cases


class Sweep:
    def __init__(self, ws_dir: Path, scratch: Path):
        from curation.workspace import Workspace

        self.pristine, self.ws_dir, self.scratch = ws_dir, scratch / "ws", scratch
        shutil.copytree(ws_dir, self.ws_dir)
        ws = Workspace.open(self.ws_dir)
        self.first = ws.tables.read(ws.resolve("clips"), ["clip_id"])["clip_id"][0].as_py()
        self.data = ws.task().root
        preds = scratch / "preds.csv"
        preds.write_text("id,pred,prob\n" + f"{self.first},normal,0.5\n")
        events = scratch / "events.csv"
        events.write_text("path,group,event_s\nnone.mp4,g,1.0\n")
        (scratch / "a-folder").mkdir()
        self.slots = {"@first": self.first, "@preds": str(preds), "@out": str(scratch / "out" / "o.csv"),
                      "@data": self.data, "@events": str(events), "@dir": str(scratch / "a-folder"),
                      "@missing": str(scratch / "no" / "such" / "file.csv"), "@synth": str(scratch / "synth")}
        self.before = snapshot(self.ws_dir)
        self.report = Report()

    def _restore(self) -> None:
        shutil.rmtree(self.ws_dir)
        shutil.copytree(self.pristine, self.ws_dir)
        self.before = snapshot(self.ws_dir)

    def _fill(self, template: list[str], value: str) -> list[str]:
        args = []
        for part in template:
            part = part.replace("{}", value)
            args.append(self.slots.get(part, part.replace("@first", self.first)))
        return args

    def cli(self, args: list[str]) -> None:
        if args[0] in ("train", "sweep"):  # the tiny model for what a hostile value leaves valid; its option wins
            args = [args[0], *TINY, *(["--trials", "1"] if args[0] == "sweep" else []), *args[1:]]
        code, output = run_cli(["-w", str(self.ws_dir), *args])
        self.report.cases += 1
        case = " ".join(a[:60] for a in args)
        if code == "time up":  # still going after HANG_S: work under way if it said so, else a hang
            if not output.strip():
                self.report.hangs.append(case)
            code = 0
        last = output.strip().splitlines()[-1:]
        # a run that started and then failed (its loss diverged): one line, exit 1, its record kept
        failed_run = code == 1 and bool(last) and last[0].startswith("error: ")
        if "Traceback" in output or code == -1:
            self.report.tracebacks.append((case, output[-600:]))
        elif code not in (0, 2) and not failed_run:
            self.report.bad_exit.append((case, code, output[-300:]))
        after = snapshot(self.ws_dir)
        if code != 0 and not failed_run and after != self.before:
            changed = sorted(k for k in set(after) | set(self.before) if after.get(k) != self.before.get(k))
            self.report.writes_after_refusal.append((case, changed[:5]))
        if after != self.before:
            self._restore()

    def api(self) -> None:
        from starlette.testclient import TestClient

        from curation.dashboard.api import create_app
        from curation.dashboard.security import Access
        from curation.workspace import Workspace

        csrf = "hostile-sweep"
        client = TestClient(create_app(Workspace.open(self.ws_dir), Access("127.0.0.1", 5016, csrf=csrf,
                                                                          allow=("testserver",))),
                            raise_server_exceptions=False)
        headers = {"x-curate-token": csrf, "content-type": "application/json"}
        requests = [("GET", route.replace("{}", v.replace("@first", self.first)), None)
                    for route in ROUTES_GET for v in VALUES if "/static/" not in route or v]
        values = [*VALUES, 1e300, -1, [1], {"a": 1}, None, True]
        requests += [("POST", route, json.dumps(body).encode()) for route, make in POST_BODIES.items()
                     for v in values for body in make(v)]
        requests += [("POST", route, raw) for route in POST_BODIES for raw in RAW_BODIES]
        for method, path, body in requests:
            self.report.cases += 1
            answer = client.request(method, path, content=body, headers=headers)
            case = f"{method} {path[:80]} {(body or b'')[:60]!r}"
            if answer.status_code >= 500:
                self.report.server_errors.append((case, answer.status_code, answer.text[:300]))
            elif answer.status_code >= 400 and "json" in answer.headers.get("content-type", "") and \
                    "problem" not in answer.json():
                self.report.server_errors.append((case, answer.status_code, "a refusal without a problem"))
            after = snapshot(self.ws_dir)
            if answer.status_code >= 400 and after != self.before:
                self.report.writes_after_refusal.append((case, "files changed"))
            if after != self.before:
                self._restore()
                client = TestClient(create_app(Workspace.open(self.ws_dir), Access(
                    "127.0.0.1", 5016, csrf=csrf, allow=("testserver",))), raise_server_exceptions=False)

    def files(self) -> None:
        folder = self.scratch / "files"
        folder.mkdir()
        for kind, contents in BROKEN.items():
            for k, content in enumerate(contents):
                path = folder / f"broken{k}.{kind}"
                path.write_bytes(content.replace(b"@first", self.first.encode()))
                for template in FILE_COMMANDS[kind]:
                    self.cli(self._fill(template, str(path)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", type=Path, help="A workspace with a dataset and a run (default: build one).")
    ap.add_argument("--keep", action="store_true", help="Keep the scratch folder.")
    args = ap.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="curate-hostile-"))
    import uvicorn

    uvicorn.run = lambda app, **kw: print(f"(would serve on {kw.get('host')}:{kw.get('port')})")  # never block
    before = Path.cwd()
    try:
        ws_dir = args.workspace.resolve() if args.workspace else build_workspace(scratch / "built")
        sweep = Sweep(ws_dir, scratch / "sweep")
        (scratch / "cwd").mkdir()
        os.chdir(scratch / "cwd")  # a hostile value that is a valid relative -o lands here, not where we ran from
        for template in COMMANDS:
            for value in VALUES:
                sweep.cli(sweep._fill(template, value))
        kinds = kind_cases()
        for case in kinds:
            sweep.cli(sweep._fill(case, ""))
        commands = sweep.report.cases
        sweep.files()
        files = sweep.report.cases - commands
        sweep.api()
        report = sweep.report
        print(f"{report.cases} cases: {commands} command lines, {files} broken input files, "
              f"{report.cases - commands - files} API requests")
        print(f"of the command lines, {len(kinds)} give a kind of value to every option of its kind")
        print(f"tracebacks {len(report.tracebacks)}, HTTP 5xx {len(report.server_errors)}, writes after a refusal "
              f"{len(report.writes_after_refusal)}, other exit codes {len(report.bad_exit)}, hangs over {HANG_S} s "
              f"{len(report.hangs)}")
        for kind in ("tracebacks", "server_errors", "writes_after_refusal", "bad_exit", "hangs"):
            for case in getattr(report, kind):
                print(f"  {kind}: {case}")
        sys.exit(1 if report.failures() else 0)
    finally:
        os.chdir(before)
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
