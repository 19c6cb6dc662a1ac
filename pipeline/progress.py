"""How long work reports how far it is: the one interface between the stages (and what
they call) and the screen."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    """How a stage reports progress on steps that can take more than a few seconds
    (``pipeline.runner.Reporter`` says what each call shows); a stage never prints."""

    def track(
        self, items: Iterable[T], total: int | None, description: str, unit: str = ""
    ) -> Iterator[T]: ...

    def task(
        self, total: int | None, description: str, unit: str = "", throttle: bool = True
    ) -> AbstractContextManager[Callable[..., None]]:
        """Work of ``total`` ``unit``; the yielded ``update(done, **facts)`` says how far it is."""
        ...
