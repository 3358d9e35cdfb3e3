""".ci/run cannot go green by skipping: with CI=true and no Chromium to be had, it stops before the tests."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_ci_run_without_chromium_under_ci_exits_non_zero(tmp_path):
    # a PATH with what the script needs before its Chromium check, and no chromium or apt-get
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("bash", "dirname", "id"):
        found = shutil.which(tool)
        assert found, tool
        (bin_ / tool).symlink_to(found)
    env = {"PATH": str(bin_), "HOME": str(tmp_path), "CI": "true"}
    done = subprocess.run(["/bin/bash", str(ROOT / ".ci" / "run")], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)
    assert done.returncode != 0
    assert "Chromium is missing" in done.stderr
    assert "pytest" not in done.stdout + done.stderr  # stopped before installing or testing anything


@pytest.mark.slow  # fresh Python processes: kept out of the edit loop's two minutes
def test_browser_tests_skip_without_chromium_only_outside_ci():
    """The marker every browser test carries: with CI=true a missing Chromium fails the tests instead."""
    code = "import conftest; print(conftest.needs_chromium.args[0])"
    skips = {}
    for ci in ("true", ""):
        env = {**os.environ, "CI": ci, "CURATE_CHROMIUM": "/nonexistent/chromium"}
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "tests", env=env, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stderr
        skips[ci] = done.stdout.strip()
    assert skips == {"true": "False", "": "True"}
