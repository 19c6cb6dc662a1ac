"""The README's set-up commands: CI runs the same test command, and both install the lock."""

from __future__ import annotations

import re
import shlex
import shutil
import tomllib
from pathlib import Path

import pytest

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


# -- the README and --help say what the CLI and the stages do -------------------------------


def _commands() -> list[str]:
    from pipeline.cli import app

    return sorted(c.name or c.callback.__name__ for c in app.registered_commands if c.callback)


def test_the_readme_lists_every_command_and_no_other() -> None:
    block = README.split("## Commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    listed = sorted(line.split()[1] for line in block.splitlines() if line.startswith("pipeline "))
    assert listed == _commands()


def test_the_readme_stage_table_names_every_stage_and_what_it_writes() -> None:
    from pipeline.stages import STAGES

    rows = re.findall(r"^\| `(\w+)` \| .* \| (.*) \|$", README, flags=re.M)
    assert [name for name, _ in rows] == [s.name for s in STAGES]
    for (name, writes), stage in zip(rows, STAGES, strict=True):
        listed = {w.rstrip("/") for w in re.findall(r"`([^`]+)`", writes)}
        assert set(stage.outputs) <= listed, f"{name}: {set(stage.outputs) - listed} not in the README"


def _example(command: str) -> list[str]:
    from .conftest import invoke

    result = invoke(command, "--help", columns=200)
    assert result.exit_code == 0, result.stderr
    found = re.search(r"Example: (pipeline .*)", result.stdout)
    assert found, f"{command} --help gives no example"
    return shlex.split(found.group(1).strip())[1:]


def test_every_command_s_help_example_works_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a folder laid out as the repository is (configs/, seeds/), each command's
    --help example runs and exits 0, in an order where each finds what it needs."""
    from .conftest import invoke

    shutil.copytree(REPO / "configs", tmp_path / "configs")
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)
    examples = {c: _example(c) for c in _commands()}
    order = ["run", "stages", "validate", "show", "compare", "infer"]
    assert sorted(order) == sorted(examples)
    for command in order:
        args = examples[command]
        for path in args:
            if path.startswith("runs/") and not Path(path).exists() and command == "compare":
                # the example compares with another run: make it as its name says
                k = re.search(r"k(\d+)$", path)
                extra = ["--set", f"model.num_topics={k.group(1)}"] if k else []
                made = invoke("run", "--set", f"run.name={Path(path).name}", *extra)
                assert made.exit_code == 0, made.stderr
            if path.endswith("/") and not Path(path).exists():  # the new texts infer reads
                shutil.copytree(REPO / "seeds", path)
        result = invoke(*args)
        assert result.exit_code == 0, f"pipeline {' '.join(args)}: {result.stderr}"
