"""The CLI as a new user meets it: the acceptance flow, and one-line errors with exit code 2."""
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from conftest import tiny_synth
from curation.cli import cli


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "d"
    return tiny_synth(root, seed=5)


def run(ws, *args, ok=True):
    result = CliRunner().invoke(cli, ["--workspace", str(ws), *args])
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


def test_new_user_flow(dataset, tmp_path):
    ws = tmp_path / "ws"
    assert "registered" in run(ws, "ingest", "nexar", str(dataset), "--frame-size", "32").output
    assert "nexar/clips" in run(ws, "tables").output
    ids = run(ws, "show", "clips", "--columns", "clip_id", "--csv", "-n", "3").output.split()[1:]
    assert len(ids) == 3
    assert "clips@2" in run(ws, "edit", "clips", "--delete", ",".join(ids), "-m", "x").output
    log = run(ws, "log", "clips").output
    assert "clips@2" in log and "clips@1" in log and "deleted 3" in log
    old = run(ws, "show", "clips@1", "-n", "0", "--csv", "--columns", "clip_id").output.split()
    new = run(ws, "show", "clips@latest", "-n", "0", "--csv", "--columns", "clip_id").output.split()
    assert set(ids) <= set(old) and not set(ids) & set(new)
    run(ws, "tag", "clips@1", "original")
    run(ws, "edit", "clips", "--weight", "0.25", "--ids", new[1], "-m", "down-weight")
    assert "reweighted 1" in run(ws, "diff", "clips@2", "clips").output
    run(ws, "revert", "clips@original")
    again = run(ws, "show", "clips", "-n", "0", "--csv", "--columns", "clip_id").output.split()
    assert set(again) == set(old)
    assert "unchanged" in run(ws, "ingest", "nexar", str(dataset), "--frame-size", "32").output


def test_edit_from_file_with_video_level_cascade(dataset, tmp_path):
    ws = tmp_path / "ws"
    run(ws, "ingest", "nexar", str(dataset), "--frame-size", "32")
    rows = run(ws, "show", "clips", "--csv", "-n", "0", "--columns", "clip_id,video_id").output.split()[1:]
    clip_id, video = rows[0].split(",")[0], rows[-1].split(",")[1]
    edits = tmp_path / "edits.csv"
    edits.write_text(f"id,level,action,value,reason,score\n{clip_id},clip,weight,0.25,loss,0.9\n"
                     f"{video},video,delete,,duplicate,0.8\n")
    out = run(ws, "edit", "clips", "--from", str(edits), "-m", "from file").output
    n_video_clips = sum(r.split(",")[1] == video for r in rows)
    assert f"deleted {n_video_clips}" in out and "reweighted 1" in out
    import getpass

    run(ws, "edit", "clips", "--delete", rows[1].split(",")[0], "-m", "by hand", "--author", "Grace Hopper")
    log = run(ws, "log", "clips").output.splitlines()  # newest first: who made each edit
    assert log[0].endswith("by Grace Hopper  by hand") and log[1].endswith(f"by {getpass.getuser()}  from file")
    bad = run(ws, "edit", "clips", "--delete", rows[2].split(",")[0], "-m", "x", "--author", "a\nb", ok=False)
    assert bad.exit_code == 2 and "is not a name" in bad.output + bad.stderr and len(run(ws, "log", "clips").output.splitlines()) == len(log)


@pytest.mark.parametrize("args, needle", [
    (["show", "nosuch"], "unknown table"),
    (["show", "clips@99"], "no revision 99"),
    (["show", "clips@nosuchtag"], "unknown revision or tag"),
    (["edit", "clips", "--delete", "nope:1", "-m", "x"], "unknown id"),
    (["edit", "clips", "--weight", "-1", "--ids", "x", "-m", "x"], "weight"),
    (["edit", "clips", "--from", "/nonexistent.csv", "-m", "x"], "there is no edit file"),
    (["ingest", "nexar", "/nonexistent/root"], "does not exist"),
    (["show", "clips", "--where", "nosuchcolumn > 1"], "unknown column"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(dataset, tmp_path, args, needle):
    ws = tmp_path / "ws"
    run(ws, "ingest", "nexar", str(dataset), "--frame-size", "32")
    result = run(ws, *args, ok=False)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.output
    assert run(ws, "log", "clips").output.count("clips@") == 1  # no revision was written


def test_malformed_edit_file_and_csv_rejected(dataset, tmp_path):
    ws = tmp_path / "ws"
    run(ws, "ingest", "nexar", str(dataset), "--frame-size", "32")
    bad = tmp_path / "bad.csv"
    bad.write_text("id,action,value\nsomething,explode,1\n")
    result = run(ws, "edit", "clips", "--from", str(bad), "-m", "x", ok=False)
    assert result.exit_code == 2 and "action" in result.stderr
    root = tmp_path / "broken"
    root.mkdir()
    (root / "train.csv").write_text("id,target\n1,0,extra\n")
    result = run(tmp_path / "ws2", "ingest", "nexar", str(root), ok=False)
    assert result.exit_code == 2 and "train.csv" in result.stderr
    assert not (tmp_path / "ws2" / "tables").exists()


@pytest.mark.slow
def test_console_script_errors_without_traceback(tmp_path):
    env = {**os.environ, "CURATE_WORKSPACE": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "curation.cli", "show", "clips"], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_3lc_backend_without_key_is_one_line_exit_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLC_")}
    env.update(CURATE_WORKSPACE=str(tmp_path), CURATE_BACKEND="3lc", HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "curation.cli", "tables"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "3LC API key" in proc.stderr and "--backend lance" in proc.stderr


@pytest.mark.slow
def test_lance_loop_never_imports_tlc(tmp_path):
    """ingest, tables, train (with its collection pass) and show --run: tlc stays unimported. Three videos: their
    collection is mapped without UMAP, whose numba compile (~25 s) a fresh process would pay."""
    dataset = tiny_synth(tmp_path / "d", seed=5, n_train=3, n_test=1)
    code = ("import sys; from click.testing import CliRunner; from curation.cli import cli; "
            f"r = CliRunner().invoke(cli, ['--workspace', {str(tmp_path / 'ws')!r}, 'ingest', 'nexar', {str(dataset)!r}, '--frame-size', '32']); "
            "assert r.exit_code == 0, r.output; "
            f"r = CliRunner().invoke(cli, ['--workspace', {str(tmp_path / 'ws')!r}, 'tables']); "
            "assert r.exit_code == 0; "
            f"r = CliRunner().invoke(cli, ['--workspace', {str(tmp_path / 'ws')!r}, 'train', '--model', 'mvit_tiny', "
            "'--weights', 'none', '--epochs', '1', '--draws', '8', '--batch-size', '4', '--workers', '0']); "
            "assert r.exit_code == 0, r.output; "
            f"r = CliRunner().invoke(cli, ['--workspace', {str(tmp_path / 'ws')!r}, 'show', 'clips', '--run', 'last']); "
            "assert r.exit_code == 0, r.output; print('tlc' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_suggest_help_names_every_signal_it_can_propose():
    from click.testing import CliRunner

    from curation.cli import cli
    from curation.review.suggestion import SIGNALS

    shown = CliRunner().invoke(cli, ["suggest", "--help"]).output
    block = shown.split("Signals, and what each needs:")[1].split("Options:")[0]
    listed = [line.strip().split("  ")[0] for line in block.splitlines()
              if line.startswith("    ") and not line.startswith("      ")]
    assert sorted(listed) == sorted(SIGNALS)
    assert "predict-events" in shown  # what the timing signal needs
