"""Where partitioned work runs: in this process, in local worker processes, or as tasks
on a Dask cluster. The executor is the only owner of worker processes.

Segment, tokenize, the training E-steps, assign and the sweep's jobs cut their work
into ordered partitions and hand them to ``ex.map(fn, partitions, *shared)``; results
come back in input order with only a few partitions in flight, so outputs are
identical however many processes or machines ran them, and memory stays bounded.
A partition's function may say how its work goes with ``notify(event)``: the events
reach the ``on_event`` of the map that runs it, from local workers too (a sweep's
training passes), and are dropped on a Dask cluster.

Locally the run's process is one of the ``workers``: it forks one fewer, and runs a
waiting partition itself whenever it would otherwise wait for a result. A forked
worker's resident memory counts every page the run's process held when it forked, so
on all of xwlb the run's peak over all processes fell by about a sixth (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing import get_all_start_methods, get_context
from typing import Any, Protocol, TypeVar

from pipeline.config import Config
from pipeline.errors import ConfigError, PipelineError

T = TypeVar("T")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent dies
STEAL_WAIT = 0.02  # seconds the run's process waits for a result before it looks for work again


class Executor(Protocol):
    """Runs ``fn(part, *shared)`` for every partition, results in input order."""

    kind: str

    @property
    def parallel(self) -> bool:
        """Whether partitions run apart from this process (worth cutting work into them)."""
        ...

    def map(
        self,
        fn: Callable[..., R],
        partitions: Iterable[T],
        *shared: Any,
        on_event: Callable[[Any], None] | None = None,
    ) -> Iterator[R]: ...


_listener: Callable[[Any], None] | None = None  # where notify() sends, in this process


def notify(event: Any) -> None:
    """Called inside a partition's function: hand ``event`` (picklable: it may cross
    from a worker) to the ``on_event`` of the map running the partition, if any."""
    if _listener is not None:
        _listener(event)


@contextlib.contextmanager
def _listening(listener: Callable[[Any], None] | None) -> Iterator[None]:
    global _listener
    previous = _listener
    if listener is not None:  # a map without a listener leaves an outer map's in place
        _listener = listener
    try:
        yield
    finally:
        _listener = previous


def _die_with_parent(parent: int) -> None:
    """In a worker: end this process when the run's process ends, however it ends.

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


class _ForkPool:
    """Forked workers running one function over partitions.

    Fork hands every worker ``fn`` and the shared objects (a corpus, a model, a config)
    in its memory, without pickling them; only partitions and results cross. Workers
    are forked with Ctrl-C held back: a SIGINT that lands inside fork's bookkeeping is
    swallowed by Python ("Exception ignored"), and the run would go on. They keep it
    blocked, so Ctrl-C stops the run, and they die with it.
    """

    def __init__(self, workers: int, fn: Callable[..., Any], shared: tuple[Any, ...]) -> None:
        ctx = get_context("fork")
        self.tasks: Any = ctx.Queue()
        self.results: Any = ctx.Queue()
        parent = os.getpid()

        def work() -> None:
            _die_with_parent(parent)
            while True:  # until close() kills the worker
                n, part = self.tasks.get()

                def tell(event: Any, n: int = n) -> None:
                    self.results.put((n, None, event))

                try:
                    with _listening(tell):
                        value = fn(part, *shared)
                    self.results.put((n, True, value))
                except BaseException as exc:  # sent to the parent, which raises it
                    self.results.put((n, False, _portable(exc)))
                # What the partition used is freed, but glibc would keep it in this worker's
                # heap, which would grow with the partitions it ran: in segment on all of
                # xwlb the workers held 125 and 131 MB of their own, against 83 and 89.
                value = part = None
                _release_free_memory()

        _release_free_memory()
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.procs = [ctx.Process(target=work, daemon=True) for _ in range(workers)]
            for proc in self.procs:
                proc.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def steal(self) -> tuple[int, Any] | None:
        """A partition no worker has taken yet, if there is one. An idle worker waits on
        the queue holding its lock, so this finds one only while every worker is busy."""
        try:
            return self.tasks.get(block=False)
        except queue.Empty:
            return None

    def result(self, timeout: float) -> tuple[int, bool | None, Any] | None:
        """A worker's next message: (partition, True and its result, False and its error,
        or None and an event); None if none came within ``timeout`` seconds."""
        try:
            return self.results.get(timeout=timeout)
        except queue.Empty:
            if not all(p.is_alive() for p in self.procs):
                raise PipelineError(
                    "a worker process died (out of memory?); run again with executor.workers: 1"
                ) from None
            return None

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
        for proc in self.procs:
            proc.join()
        # Partitions still buffered for the dead workers would block the queue's feeder
        # thread on a full pipe, and the exit of this process on that thread (Ctrl-C).
        for q in (self.tasks, self.results):
            q.cancel_join_thread()
            q.close()


def _release_free_memory() -> None:
    """Give the memory this process has freed back to the system before it forks.

    A forked worker's resident memory counts every page of its parent's heap, freed
    or not, and glibc keeps freed pages of the heap for reuse. Earlier stages of a
    run free hundreds of megabytes (the near-duplicate index, the training start), so
    without this each worker would begin with them: on all of xwlb the run's peak over
    all processes was 1,075 MB without it and 942 MB with it.
    """
    # No gc.collect() first: before every fork (the E-steps fork once a pass) it took the
    # test suite from about 250 s to 420 s, for 47 MB less at the peak on all of xwlb.
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL(None).malloc_trim(0)


def _portable(exc: BaseException) -> BaseException:
    """The exception itself if it can be sent to the parent, else its text."""
    import pickle

    try:
        pickle.dumps(exc)
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")


class LocalExecutor:
    """Runs partitions on this machine: in this process, or in ``workers`` forked processes."""

    kind = "local"

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers

    @property
    def parallel(self) -> bool:
        return self.workers > 1 and "fork" in get_all_start_methods()

    def map(
        self,
        fn: Callable[..., R],
        partitions: Iterable[T],
        *shared: Any,
        on_event: Callable[[Any], None] | None = None,
    ) -> Iterator[R]:
        if not self.parallel:
            for part in partitions:
                with _listening(on_event):
                    result = fn(part, *shared)
                yield result
            return
        # The run's process is one of the workers: it forks workers - 1, and while it waits
        # for a result it takes a partition from their queue and runs it itself. Every forked
        # worker's resident memory counts the run's process's pages again, so one fork fewer
        # is one copy fewer at the peak.
        pool = _ForkPool(self.workers - 1, fn, shared)
        turns = _Turns(pool, fn, shared, on_event)
        try:
            for part in partitions:
                turns.send(part)
                while turns.sent - turns.taken >= 2 * self.workers:
                    yield turns.take()
            while turns.taken < turns.sent:
                yield turns.take()
        finally:
            pool.close()


class _Turns:
    """One parallel map's bookkeeping: results waiting for their turn, and the partitions
    the run's process takes from the workers' queue while it waits."""

    def __init__(
        self,
        pool: _ForkPool,
        fn: Callable[..., Any],
        shared: tuple[Any, ...],
        on_event: Callable[[Any], None] | None,
    ) -> None:
        self.pool, self.fn, self.shared, self.on_event = pool, fn, shared, on_event
        self.done: dict[int, tuple[bool, Any]] = {}
        self.sent = self.taken = 0

    def send(self, part: Any) -> None:
        self.pool.tasks.put((self.sent, part))
        self.sent += 1

    def take(self) -> Any:
        # A failure is raised in its partition's turn, as one process would: the error
        # names the first bad record of the input, not the one a worker reached first.
        while self.taken not in self.done:
            # A map of as many partitions as forked workers leaves them all to the workers:
            # work run apart on purpose (new-word discovery) stays out of this process.
            task = self.pool.steal() if self.sent > len(self.pool.procs) else None
            if task is not None:
                self._run_here(*task)
                task = None  # the partition too is freed before what it used is given back
                _release_free_memory()
            else:
                self._collect(self.pool.result(timeout=STEAL_WAIT))
        ok, value = self.done.pop(self.taken)
        self.taken += 1
        if not ok:
            raise value
        return value

    def _collect(self, got: tuple[int, bool | None, Any] | None) -> None:
        if got is None:
            return
        n, ok, value = got
        if ok is None:  # an event from a partition under way
            if self.on_event is not None:
                self.on_event(value)
        else:
            self.done[n] = ok, value

    def _run_here(self, n: int, part: Any) -> None:
        try:
            with _listening(self.on_event):
                self.done[n] = True, self.fn(part, *self.shared)
        except Exception as exc:  # raised in its turn, after the partitions before it
            self.done[n] = False, exc


class ExecutorLost(PipelineError):
    """The Dask cluster went away while it ran a stage's partitions; ``what`` names what was
    lost (the scheduler at its address, a worker). The runner adds the stage."""

    def __init__(self, what: str) -> None:
        super().__init__(f"executor: lost {what}")
        self.what = what


QUIET = ("distributed", "tornado", "asyncio")  # the loggers a cluster's troubles come through


def _quiet_libraries() -> None:
    """Keep Dask's own logs (and the asyncio tracebacks of a lost connection) off stderr
    unless the library logs were asked for (``--verbose`` sets the root logger to INFO):
    a lost cluster is reported as one line by the runner."""
    if logging.getLogger().isEnabledFor(logging.INFO):
        return
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in QUIET:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


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
        _quiet_libraries()
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

    def map(
        self,
        fn: Callable[..., R],
        partitions: Iterable[T],
        *shared: Any,
        on_event: Callable[[Any], None] | None = None,
    ) -> Iterator[R]:
        client = self._connect()  # events stay on the workers: a cluster has no channel back
        with self._lost(client):
            in_flight = 2 * max(1, len(client.scheduler_info().get("workers", {})))
            # Large shared objects (config, model) go to the workers once, not with every task.
            # Each map scatters them under fresh keys (hash=False): a content-derived key would
            # be shared with an earlier map whose release may still be in flight, and the
            # scheduler would cancel this map's tasks as depending on lost data.
            handles = [client.scatter(obj, broadcast=True, hash=False) for obj in shared]
        pending: deque[Any] = deque()
        for part in partitions:
            with self._lost(client):
                pending.append(client.submit(fn, part, *handles, pure=False))
            if len(pending) >= in_flight:
                yield self._result(client, pending.popleft())
        while pending:
            yield self._result(client, pending.popleft())

    def _result(self, client: Any, future: Any) -> Any:
        with self._lost(client):
            return future.result()

    @contextlib.contextmanager
    def _lost(self, client: Any) -> Iterator[None]:
        """Dask's errors for a cluster that went away, as ``ExecutorLost``; a partition's own
        failure (an InputError raised on a worker) passes through as it is."""
        from concurrent.futures import CancelledError

        from distributed import KilledWorker
        from distributed.comm import CommClosedError

        try:
            yield
        except KilledWorker as exc:
            worker = getattr(getattr(exc, "last_worker", None), "address", "?")
            raise ExecutorLost(f"the Dask workers that ran its tasks (the last at {worker})") from exc
        except (CancelledError, CommClosedError) as exc:
            address = self.address or getattr(getattr(client, "scheduler", None), "address", None)
            raise ExecutorLost(f"the Dask scheduler at {address}") from exc

    def close(self) -> None:
        self._stack.close()


@contextlib.contextmanager
def executor_for(config: Config) -> Iterator[LocalExecutor | DaskExecutor]:
    """The executor ``executor`` asks for, for the length of a run."""
    from threadpoolctl import threadpool_limits

    ex: LocalExecutor | DaskExecutor = (
        LocalExecutor(config.executor.workers or os.cpu_count() or 1)
        if config.executor.kind == "local"
        else DaskExecutor(config.executor.address)
    )
    try:
        # The run's parallelism is its worker processes: each does its numeric work on one
        # BLAS thread (forked workers inherit the limit). The arrays are small (a unit's
        # topics x terms), so threads cost more than they give: training on 10% of xwlb
        # took 3% less time on one worker and on two, with the same topics (docs/benchmarks.md).
        with threadpool_limits(limits=1, user_api="blas") if ex.kind == "local" else contextlib.nullcontext():
            yield ex
    finally:
        if isinstance(ex, DaskExecutor):
            ex.close()
