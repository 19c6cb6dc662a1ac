"""The README's set-up commands: CI runs the same test command, and both install the lock."""

from __future__ import annotations

import re
import tomllib

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _readme_commands() -> list[str]:
    return re.findall(r"^python3 -m venv \.venv && .*$", README, flags=re.M)


def test_ci_runs_the_readme_test_command_as_written() -> None:
    run, test = _readme_commands()
    assert test.endswith("&& .venv/bin/pytest")
    assert test in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert run.endswith("&& .venv/bin/pipeline run")


def test_both_readme_commands_install_from_the_lock() -> None:
    for command in _readme_commands():
        assert "pip install -c constraints.txt -e " in command


def test_the_lock_pins_every_dependency_of_every_extra_exactly() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"].values()
    wanted = [*project["dependencies"], *(d for deps in extras for d in deps)]
    lines = (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines()
    pins = dict(line.split("==", 1) for line in lines if line and not line.startswith("#"))
    assert all(re.fullmatch(r"[\w.]+", v) for v in pins.values())

    def key(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pinned = {key(n) for n in pins}
    for requirement in wanted:
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        assert name is not None
        assert key(name.group()) in pinned, f"{requirement} has no exact version in constraints.txt"
