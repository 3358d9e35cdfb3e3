"""Files the user names with -o (or --plot): written through a symlink to its target, atomically; never over a
device, fifo, socket or folder, never into a missing folder — one line, exit 2, nothing written."""
import os
import stat

import pytest

from conftest import assert_one_line_error, curate, snapshot

COMMANDS = {"export": ("export", "clips@latest", "-o"), "submit": ("submit", "--run", "last", "-o"),
            "report": ("report", "--run", "last", "-o"), "suggest": ("suggest", "--run", "last", "-o"),
            "compare": ("compare", "run-0001", "run-0002", "--plot")}


@pytest.mark.parametrize("command", ["export", "submit", "report", "suggest"])
def test_an_output_through_a_symlink_writes_its_target_and_keeps_the_link(reviewed_ws, tmp_path, command):
    target, link = tmp_path / "real", tmp_path / "link"
    target.write_text("old")
    link.symlink_to(target)
    proc = curate("-w", reviewed_ws, *COMMANDS[command], link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() != "old" and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_output_that_is_not_a_file_or_has_no_folder_is_one_line_and_writes_nothing(reviewed_ws, tmp_path,
                                                                                        command):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for bad, needle in ((fifo, "not a regular file"), (tmp_path, "is a"), ("/dev/null", "not a regular file"),
                        (tmp_path / "missing" / "out", "does not exist")):
        before = snapshot(reviewed_ws)
        assert_one_line_error(curate("-w", reviewed_ws, *COMMANDS[command], bad), needle)
        assert snapshot(reviewed_ws) == before, (command, bad)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_an_output_the_kernel_will_not_take_is_one_line(reviewed_ws):
    assert_one_line_error(curate("-w", reviewed_ws, "suggest", "--run", "last", "-o", "/proc/version"),
                          "cannot write /proc/version")
    assert open("/proc/version").read().startswith("Linux")
