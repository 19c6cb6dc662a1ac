"""The README's run command on a machine that has only the runtime dependencies.

The test command installs the dev extras, whose packages pull in others (Jinja2 came in
through dask's ``distributed``), so the suite can pass while the first command a newcomer
types fails on an import. This test copies the repository's tracked files into a new
folder and runs the README's run command there exactly as written: a new venv that gets
``-e .`` and nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import REPO
from .test_docs import _readme_commands

pytestmark = pytest.mark.slow


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.decode(
        "utf-8"
    )
    return [f for f in out.split("\0") if f]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to list the repository's files")
def test_the_readme_run_command_works_with_the_runtime_dependencies_alone(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    for name in _tracked_files():
        if (REPO / name).is_file():  # a file deleted in the work tree but not yet in git
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, repo / name)
    run_command = _readme_commands()[0]
    assert "[dev]" not in run_command
    done = subprocess.run(
        ["bash", "-c", run_command],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "open the report" in done.stderr, done.stderr[-3000:]
    assert (repo / "runs" / "seeds" / "report.html").is_file()
    freeze = subprocess.run(
        [str(repo / ".venv" / "bin" / "pip"), "freeze"], capture_output=True, text=True, check=True
    ).stdout.lower()
    installed = {line.split("==")[0] for line in freeze.splitlines()}
    assert not installed & {"pytest", "distributed", "selenium"}  # runtime only: no dev extras
