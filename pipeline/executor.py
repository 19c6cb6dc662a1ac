"""Where partitioned work runs: in this process, or as tasks on a Dask cluster.

The segment, tokenize and assign stages cut their work into ordered partitions and
hand them to ``current().map(fn, partitions, *shared)``; results come back in input
order with only a few partitions in flight, so outputs are identical however many
processes or machines ran them, and memory stays bounded. Training always runs here,
on the client.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from typing import Any, TypeVar

from pipeline.config import Config
from pipeline.errors import ConfigError, PipelineError

T = TypeVar("T")
R = TypeVar("R")


PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent dies


def _die_with_parent(parent: int) -> None:
    """Worker initializer: end this process when the run's process ends, however it ends.

    A worker outliving a killed run would hold the run folder's lock and the caller's
    stdout (``pipeline run | tee`` would never return). On Linux the kernel sends
    SIGKILL on the parent's death; elsewhere a thread watches the parent.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


@contextlib.contextmanager
def process_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Forked worker processes that die with this one; fork shares the parent's memory
    (a corpus, a model) with them without pickling it.

    Every worker is forked at once with Ctrl-C held back: a SIGINT that lands inside
    fork's bookkeeping is swallowed by Python ("Exception ignored"), and the run would
    go on. The workers keep it blocked, so Ctrl-C stops the run, not each worker.
    """
    pool = ProcessPoolExecutor(
        workers, mp_context=get_context("fork"), initializer=_die_with_parent, initargs=(os.getpid(),)
    )
    with pool:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pool.submit(int).result()  # a fork pool starts all of its workers on the first task
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        yield pool


class LocalExecutor:
    """Runs partitions on this machine: in this process, or in ``workers`` forked processes.

    Forked workers inherit ``fn`` and the shared objects (a model, a config) instead of
    receiving them with every partition; results come back in input order.
    """

    kind = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    @property
    def parallel(self) -> bool:
        """Whether partitions run apart from this process (worth cutting work into them)."""
        return self.workers > 1 and "fork" in get_all_start_methods()

    def map(self, fn: Callable[..., R], partitions: Iterable[T], *shared: Any) -> Iterator[R]:
        if not self.parallel:
            for part in partitions:
                yield fn(part, *shared)
            return
        global _TASK
        _TASK = (fn, shared)
        try:
            with process_pool(self.workers) as pool:
                pending: deque[Future[R]] = deque()
                for part in partitions:
                    pending.append(pool.submit(_run_task, part))
                    if len(pending) >= 2 * self.workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
        finally:
            _TASK = None


_TASK: tuple[Callable[..., Any], tuple[Any, ...]] | None = None  # what forked workers run


def _run_task(part: Any) -> Any:
    assert _TASK is not None
    fn, shared = _TASK
    return fn(part, *shared)


class DaskExecutor:
    """Runs partitions as tasks on a Dask distributed cluster, results in input order.

    The cluster is reached (or a local one started) on first use, so a run whose
    partitioned stages are all up to date never waits for it.
    """

    kind = "dask"
    parallel = True

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._stack = contextlib.ExitStack()
        self._client: Any = None

    def _connect(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError(
                "executor.kind: dask needs Dask distributed; install it with pip install 'dask[distributed]'"
            ) from exc
        try:
            if self.address:
                self._client = self._stack.enter_context(Client(self.address, timeout="5s"))
            else:
                cluster = self._stack.enter_context(
                    LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
                )
                self._client = self._stack.enter_context(Client(cluster))
        except (OSError, TimeoutError) as exc:
            raise PipelineError(
                f"executor.address: cannot reach the Dask scheduler at {self.address} ({exc}); "
                "start one with `dask scheduler` or set executor.kind: local"
            ) from exc
        return self._client

    def map(self, fn: Callable[..., R], partitions: Iterable[T], *shared: Any) -> Iterator[R]:
        client = self._connect()
        in_flight = 2 * max(1, len(client.scheduler_info().get("workers", {})))
        # Large shared objects (config, model) go to the workers once, not with every task.
        # Each map scatters them under fresh keys (hash=False): a content-derived key would
        # be shared with an earlier map whose release may still be in flight, and the
        # scheduler would cancel this map's tasks as depending on lost data.
        handles = [client.scatter(obj, broadcast=True, hash=False) for obj in shared]
        pending: deque[Any] = deque()
        for part in partitions:
            pending.append(client.submit(fn, part, *handles, pure=False))
            if len(pending) >= in_flight:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        self._stack.close()


_CURRENT: contextvars.ContextVar[LocalExecutor | DaskExecutor | None] = contextvars.ContextVar(
    "executor", default=None
)


def current() -> LocalExecutor | DaskExecutor:
    """The executor of the run in progress (local outside a run)."""
    return _CURRENT.get() or LocalExecutor()


@contextlib.contextmanager
def executor_for(config: Config) -> Iterator[LocalExecutor | DaskExecutor]:
    """The executor ``executor`` asks for, current for the length of a run."""
    ex: LocalExecutor | DaskExecutor = (
        LocalExecutor(config.executor.workers or os.cpu_count() or 1)
        if config.executor.kind == "local"
        else DaskExecutor(config.executor.address)
    )
    token = _CURRENT.set(ex)
    try:
        yield ex
    finally:
        _CURRENT.reset(token)
        if isinstance(ex, DaskExecutor):
            ex.close()
