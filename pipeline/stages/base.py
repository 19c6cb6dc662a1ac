"""The one interface every stage implements."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from pipeline.artifacts import RunStore
from pipeline.config import Config

T = TypeVar("T")

Counts = dict[str, Any]


class Progress(Protocol):
    """How a stage reports progress on steps that can take more than a few seconds."""

    def track(self, items: Iterable[T], total: int | None, description: str) -> Iterator[T]: ...

    def task(self, total: int, description: str) -> AbstractContextManager[Callable[[int], None]]:
        """A bar of ``total`` steps; the yielded callable sets how many are done."""
        ...


@dataclass(frozen=True)
class Stage:
    """A named step: reads ``inputs`` from the run folder, writes ``outputs``.

    ``sections`` are the config sections whose values decide the stage's result: a
    change to any of them, to the inputs, or to an earlier stage makes it run again.
    ``run`` returns counts that the runner logs and records in the manifest.
    """

    name: str
    sections: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    run: Callable[[Config, RunStore, Progress], Counts]
    summary: str = ""
    ignore: tuple[str, ...] = ()  # settings inside ``sections`` that cannot change the result
