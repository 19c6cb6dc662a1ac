"""What a run shows while it works: one line per training pass, throttled lines elsewhere."""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from pipeline import executor
from pipeline.console import ConsoleReporter, PlainLines, duration, time_text
from pipeline.executor import LocalExecutor
from pipeline.runner import StageResult

from .conftest import invoke, write_config

PASS_LINE = re.compile(
    r"^train: (?:(?P<job>K=\d+(?: seed \d+/\d+)?(?: on every unit)?) · )?"
    r"(?P<unit>pass|iteration) (?P<done>\d+)/(?P<total>\d+)(?P<rest>.*)$"
)


def pass_lines(stderr: str) -> list[re.Match[str]]:
    return [m for line in stderr.splitlines() if (m := PASS_LINE.match(line))]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- the run, through the CLI (stderr is not a terminal) ---------------------------------


def test_a_run_off_the_terminal_prints_one_line_per_training_pass(tmp_path: Path) -> None:
    result = invoke("run", write_config(tmp_path, model={"passes": 4}))
    assert result.exit_code == 0, result.stderr
    lines = pass_lines(result.stderr)
    assert [(m["unit"], int(m["done"]), int(m["total"])) for m in lines] == [
        ("pass", i, 4) for i in (1, 2, 3, 4)
    ]
    assert all(m["job"] is None and m["rest"].endswith(" left") for m in lines)
    # Each pass shows the perplexity training.json records for it; gensim's batch EM
    # measures a pass's topics in the next pass's E-step, so a line names the pass it shows.
    training = json.loads((tmp_path / "runs" / "seeds" / "training.json").read_text(encoding="utf-8"))
    recorded = training["perplexity_per_pass"]
    assert " · perplexity " not in lines[0]["rest"]
    for m in lines[1:]:
        shown = re.search(r" · perplexity ([\d,.]+)(?: \(pass (\d+)\))?", m["rest"])
        assert shown is not None, m[0]
        after = int(shown[2] or m["done"])
        assert after == (int(m["done"]) - 1 if int(m["done"]) < 4 else 4)
        assert float(shown[1].replace(",", "")) == pytest.approx(recorded[after - 1], abs=0.01)
    # The lines sit between the stage's own lines.
    stderr = result.stderr.splitlines()
    assert stderr.index("train: running (never run)") < stderr.index(lines[0][0])
    assert stderr.index(lines[-1][0]) + 1 == next(
        i for i, ln in enumerate(stderr) if ln.startswith("train: done")
    )


def test_tomotopy_reports_its_sampling_iterations_in_steps(tmp_path: Path) -> None:
    result = invoke("run", write_config(tmp_path, model={"engine": "tomotopy", "iterations": 120}))
    assert result.exit_code == 0, result.stderr
    lines = pass_lines(result.stderr)
    assert [(m["unit"], int(m["done"]), int(m["total"])) for m in lines] == [
        ("iteration", 50, 120),
        ("iteration", 100, 120),
        ("iteration", 120, 120),
    ]
    assert all(re.match(r" · perplexity [\d,.]+ · \d+:\d\d left$", m["rest"]) for m in lines)


def test_online_gensim_reports_each_pass_with_its_perplexity(tmp_path: Path) -> None:
    config = write_config(tmp_path, model={"passes": 3, "update_every": 1, "chunksize": 50})
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    lines = pass_lines(result.stderr)
    assert [int(m["done"]) for m in lines] == [1, 2, 3]
    assert all(re.match(r" · perplexity [\d,.]+ · \d+:\d\d left$", m["rest"]) for m in lines)


def test_a_sweep_says_which_k_and_seed_each_pass_belongs_to_from_worker_processes(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, model={"num_topics": [2, 3], "seeds": 2, "passes": 2}, executor={"workers": 2}
    )
    result = invoke("run", config)
    assert result.exit_code == 0, result.stderr
    lines = pass_lines(result.stderr)
    per_job: dict[str, list[int]] = {}
    for m in lines:
        per_job.setdefault(m["job"], []).append(int(m["done"]))
    chosen = json.loads((tmp_path / "runs" / "seeds" / "training.json").read_text(encoding="utf-8"))
    final = f"K={chosen['num_topics']} seed {chosen['seed'] - 41}/2 on every unit"
    assert per_job == {
        "K=2 seed 1/2": [1, 2],
        "K=2 seed 2/2": [1, 2],
        "K=3 seed 1/2": [1, 2],
        "K=3 seed 2/2": [1, 2],
        final: [1, 2],
    }


# -- plain lines: throttled, with a fake clock ----------------------------------------


def run_loop(steps: int, seconds: float, throttle: bool = True) -> list[tuple[float, str]]:
    """``steps`` updates spread over ``seconds`` of a fake clock; the lines written, timed."""
    clock = FakeClock()
    written: list[tuple[float, str]] = []
    lines = PlainLines(
        lambda s: written.append((clock.now, s)), "tokenize: ", steps, "units", throttle, clock
    )
    for done in range(1, steps + 1):
        clock.now = seconds * done / steps
        lines.update(done)
    lines.close()
    return written


@pytest.mark.parametrize(
    ("steps", "seconds", "expected"),
    [
        (100_000, 120.0, 24),  # one line every 5 s: at 5, 10, ..., 120 s (the last is the end)
        (100_000, 121.0, 25),  # ... and the last state, 1 s after the last timed line
        (1_000, 4.9, 0),  # a step over within 5 s writes nothing
        (3, 30.0, 3),  # updates 10 s apart: each is a line
    ],
)
def test_plain_lines_are_throttled_to_one_every_five_seconds_plus_the_last(
    steps: int, seconds: float, expected: int
) -> None:
    written = run_loop(steps, seconds)
    assert len(written) == expected
    timed = [t for t, _ in written[:-1]]  # the last line may follow a timed one at once
    assert all(b - a >= 5.0 for a, b in itertools.pairwise([0.0, *timed]))
    assert len(written) <= seconds / 5 + 1  # far from one a second, however many updates
    if written:
        assert written[-1][1] == f"tokenize: units {steps:,}/{steps:,} · 0:00 left"


def test_milestones_are_not_throttled() -> None:
    written = run_loop(20, 2.0, throttle=False)
    assert [line for _, line in written][:2] == [
        "tokenize: units 1/20 · 0:02 left",
        "tokenize: units 2/20 · 0:02 left",
    ]
    assert len(written) == 20


def test_a_line_shows_the_count_the_facts_and_the_time_left() -> None:
    clock = FakeClock()
    written: list[str] = []
    lines = PlainLines(written.append, "train: K=8 seed 2/3 · ", 20, "pass", False, clock)
    clock.now = 123.0
    lines.update(3, perplexity=812.44)
    assert written == ["train: K=8 seed 2/3 · pass 3/20 · perplexity 812.4 · 11:37 left"]


@pytest.mark.parametrize(
    ("done", "total", "elapsed", "since", "expected"),
    [
        (3, 20, 123.0, 0.0, "11:37 left"),
        (3, 20, 123.0, 37.0, "11:00 left"),  # counts down between updates
        (3, 20, 123.0, 1000.0, "0:00 left"),
        (0, 20, 5.0, 0.0, ""),  # no pace yet
        (3_200, None, 12.0, 3.0, "0:15 elapsed"),  # no total: the time taken
        (1, 2, 3_725.0, 0.0, "1:02:05 left"),
    ],
)
def test_time_text(done: int, total: int | None, elapsed: float, since: float, expected: str) -> None:
    assert time_text(done, total, elapsed, since) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0, "0:00"), (41.4, "0:41"), (725, "12:05"), (3723, "1:02:03")]
)
def test_duration(seconds: float, expected: str) -> None:
    assert duration(seconds) == expected


def reporter(terminal: bool, clock: Callable[[], float]) -> tuple[ConsoleReporter, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=80, color_system=None)
    return ConsoleReporter(console, clock=clock), out


def test_the_reporter_names_the_stage_once_and_keeps_long_lines_whole() -> None:
    clock = FakeClock()
    rep, out = reporter(False, clock)
    rep.stage_started("report", "never run")
    for n in rep.track(range(10), 10, "report: terms over time", "units"):
        clock.now = 6.0 * (n + 1)
    rep.stage = "tokenize"
    with rep.task(None, "", "documents") as update:
        clock.now += 5.0
        update(3_200, note="x" * 100)
    lines = out.getvalue().splitlines()
    assert lines[0] == "report: running (never run)"
    assert lines[1] == "report: terms over time · units 1/10 · 0:54 left"
    assert len(lines) == 1 + 10 + 1
    assert lines[-1] == f"tokenize: documents 3,200 · note {'x' * 100} · 0:05 elapsed"  # not wrapped at 80


def test_on_a_terminal_a_bar_shows_while_the_step_runs_and_is_gone_after() -> None:
    clock = FakeClock()
    rep, out = reporter(True, clock)
    rep.stage_started("train", "never run")
    with rep.task(20, "", "pass", throttle=False) as update, rep.task(None, "sweep", "models"):
        update(3)
        assert rep._bars is not None and len(rep._bars.tasks) == 2  # one live display for both
    assert rep._bars is None  # stopped with the last step
    rep.stage_finished(StageResult("train", "ran", 1.0, {"topics": 8}, "never run"))
    assert out.getvalue().rstrip().endswith("train: done in 1.0s: topics 8")


def test_a_terminal_row_puts_the_time_before_the_facts_and_fits_the_width() -> None:
    clock = FakeClock()
    rep, _ = reporter(True, clock)
    rep.stage = "train"
    with rep.task(20, "K=12 seed 2/3 on every unit", "pass", throttle=False) as update:
        clock.now = 10.0
        update(3, perplexity="1,203.5 (pass 2)")
        assert rep._bars is not None
        table = rep._bars.make_tasks_table(rep._bars.tasks)
        probe = Console(file=io.StringIO(), width=80, color_system=None)
        probe.print(table)
    (row,) = probe.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert row.startswith("  K=12 seed 2/3 on every unit ━━ ")
    assert row.endswith(" pass 3/20 · 0:57 left · perplexi…")  # the facts are cut, not the time
    assert len(row) == 80


# -- events from a partition's function reach the map's caller -------------------------


def _count_to(n: int) -> int:
    for i in range(1, n + 1):
        executor.notify((n, i))
    return n


@pytest.mark.parametrize("workers", [1, 2])
def test_events_reach_the_caller_of_map_from_this_process_and_from_workers(workers: int) -> None:
    events: list[Any] = []
    results = list(LocalExecutor(workers).map(_count_to, iter([3, 1, 2]), on_event=events.append))
    assert results == [3, 1, 2]
    assert sorted(events) == [(1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3)]
    for n in (2, 3):  # a partition's events in the order it sent them
        assert [e for e in events if e[0] == n] == [(n, i) for i in range(1, n + 1)]
    executor.notify("nobody listens")  # outside a map: dropped
