"""Convert tasks in this process and in child processes; hand the outcomes back in walk order.

The main process writes every sample; while the next result is still being converted by a child it
converts a job itself rather than wait, so ``--workers 2`` on two cores keeps both busy. A
:class:`WorkerPool` is lighter than ``multiprocessing.Pool``, which matters at ~20 us a step: no task
queue, no result thread, one pickled message per job each way, each child's jobs returned in the
order sent. A few jobs in flight per process bound what waits to be written, so memory stays flat.

The children never outlive the main process: they ignore SIGINT and SIGTERM (the main process handles
them and kills its children), on Linux the kernel kills them when the main process dies, even by
SIGKILL, and elsewhere they exit when their pipe reports the main process gone or they were
reparented (see :mod:`gui_agent_rl.datagen.processes`, which also caps how many there are).

>>> with WorkerPool(ConvertOptions("examples/corpus"), children=1) as pool:  # doctest: +SKIP
...     for task, outcomes in convert_tasks(iter_tasks("examples/corpus"), pool.options, pool):
...         ...
"""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import traceback
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from gui_agent_rl.datagen.convert import ConvertOptions, SampleBody, StepConverter, StepRejected
from gui_agent_rl.datagen.processes import (
    die_with_parent,
    expected_parent,
    ignore_main_signals,
    parent_gone,
    signals_blocked,
)
from gui_agent_rl.datagen.walk import TaskDir, step_files

TASKS_PER_JOB = 8  # ~80 steps, a few ms: amortises the round trip, keeps the last job short
JOBS_IN_FLIGHT_PER_WORKER = 2  # enough to keep a child busy; few, so the last ones end together
PARENT_CHECK_SECONDS = 1.0  # an idle child checks this often that the main process still runs

__all__ = ["Outcome", "WorkerPool", "convert_task", "convert_tasks"]

# Per step: a SampleBody when kept (plus, as a third element, the action types its packaged prompt lists
# when those are not the default), (rel_path, kind, reason) when rejected.
Outcome = SampleBody | tuple[str, str, str]


def convert_task(converter: StepConverter, task: TaskDir) -> list[Outcome]:
    """The outcome of every step of ``task``, in step order."""
    outcomes: list[Outcome] = []
    for step in step_files(task):
        try:
            outcomes.append(converter.convert(step))
        except StepRejected as exc:
            outcomes.append((step.relative(converter.root), exc.kind, exc.reason))
    return outcomes


def _next_job(conn: Connection, parent: int | None) -> list[TaskDir] | None:
    """The next job from the main process; None when it says stop or is gone."""
    try:
        while not conn.poll(PARENT_CHECK_SECONDS):
            if parent_gone(parent):
                return None
        return conn.recv()
    except (EOFError, OSError):  # the main process closed its end, or died
        return None


def _run_job(converter: StepConverter, job: list[TaskDir]) -> tuple[bool, bytes]:
    """(ok, the pickled message for the main process): the outcomes, or the traceback of a failure."""
    try:
        return True, pickle.dumps((True, [convert_task(converter, t) for t in job]), pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - a bug or MemoryError: the main process raises it, traceback and all
        return False, pickle.dumps((False, traceback.format_exc()), pickle.HIGHEST_PROTOCOL)


def _worker_main(
    conn: Connection, options: ConvertOptions, parent: int | None, inherited: list[Connection]
) -> None:
    """A worker process: convert each job (a list of tasks) it receives, until told to stop or the
    main process is gone. ``inherited``: the main process's pipe ends a fork copied here, closed
    first, so that when the main process dies nothing holds them open and this child sees EOF."""
    ignore_main_signals()
    die_with_parent(parent)
    for end in inherited:
        end.close()
    converter = StepConverter(options)
    while (job := _next_job(conn, parent)) is not None:
        ok, message = _run_job(converter, job)
        try:
            conn.send_bytes(message)
        except OSError:  # the main process is gone: nobody is waiting for results
            return
        if not ok:
            return


class WorkerPool:
    """Child processes converting jobs (lists of tasks) for one build; a context manager.

    On a clean exit the workers are joined after whatever the ``with`` block did last (a build
    closes its output files inside it, so the workers' exit overlaps the final ``fsync``); on an
    error, Ctrl-C or SIGTERM they are killed (they ignore SIGTERM).
    """

    def __init__(self, options: ConvertOptions, children: int) -> None:
        self.options = options
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        self._stopped = False
        # Objects frozen before the fork are skipped by the workers' garbage collector, so the
        # workers do not copy the parent's pages just to scan them (the advice of the gc.freeze docs).
        gc.freeze()
        try:
            with signals_blocked():
                for _ in range(children):
                    self._start_child()
        except BaseException:
            self._kill()
            raise
        finally:
            gc.unfreeze()

    def _start_child(self) -> None:
        ctx = multiprocessing.get_context()
        parent, child = ctx.Pipe()
        # A forked child gets copies of this process's ends of every pipe so far; it must close them.
        inherited = [*self.conns, parent] if ctx.get_start_method() == "fork" else []
        proc = ctx.Process(
            target=_worker_main, args=(child, self.options, expected_parent(), inherited), daemon=True
        )
        self.conns.append(parent)
        self.procs.append(proc)
        try:
            proc.start()
        finally:
            child.close()

    def _kill(self) -> None:
        """Kill every child that runs, close the pipes, reap the children."""
        for conn, proc in zip(self.conns, self.procs, strict=True):
            if proc.pid is not None:
                proc.kill()
            conn.close()
        for proc in self.procs:
            if proc.pid is not None:
                proc.join()

    def submit(self, k: int, job: list[TaskDir] | None) -> None:
        """Send a job to child ``k`` (None: stop); each child converts its jobs in the order sent."""
        try:
            self.conns[k].send(job)
        except OSError:  # a broken pipe: the child is gone
            raise self._died(k) from None

    def ready(self, k: int) -> bool:
        """Whether child ``k`` has a result waiting."""
        return self.conns[k].poll()

    def receive(self, k: int) -> list[list[Outcome]]:
        """The outcomes, per task, of child ``k``'s oldest job; ``RuntimeError`` when it failed or died."""
        try:
            ok, payload = pickle.loads(self.conns[k].recv_bytes())
        except (EOFError, ConnectionError):  # the child is gone (killed, out of memory)
            raise self._died(k) from None
        if not ok:
            raise RuntimeError(f"worker process failed:\n{payload}")
        return payload

    def _died(self, k: int) -> RuntimeError:
        self.procs[k].join(1)
        return RuntimeError(f"worker process died (exit code {self.procs[k].exitcode})")

    def stop(self) -> None:
        """Ask every worker to exit once its jobs are done (results can still be collected)."""
        if not self._stopped:
            self._stopped = True
            for k in range(len(self.conns)):
                self.submit(k, None)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self._kill()
            return
        self.stop()
        for conn in self.conns:
            conn.close()
        for proc in self.procs:
            proc.join()


def _jobs(tasks: Iterable[TaskDir], size: int, processes: int) -> Iterator[list[TaskDir]]:
    """Lists of ``size`` tasks; near the end of a task list of known length, smaller ones, so the
    processes finish together instead of one waiting for another's last big job."""
    if not isinstance(tasks, Sequence):
        it = iter(tasks)
        while job := list(islice(it, size)):
            yield job
        return
    start = 0
    while start < len(tasks):
        n = max(1, min(size, (len(tasks) - start) // (2 * processes)))
        yield list(tasks[start : start + n])
        start += n


@dataclass(slots=True)
class _Job:
    tasks: list[TaskDir]
    child: int | None  # the child process converting it; None: the main process
    outcomes: list[list[Outcome]] | None = None


class _Scheduler:
    """Deals jobs to the children, and converts jobs itself while the next result is not back.

    The main process writes every sample; between writes it would wait for the children, so it
    converts a job of its own instead (no pickling, no copy-on-write faults for that share). The
    split follows the speeds as they are, which on a shared machine change by the second.
    """

    def __init__(self, tasks: Iterable[TaskDir], pool: WorkerPool, converter: StepConverter) -> None:
        self.pool, self.converter = pool, converter
        self.jobs = _jobs(tasks, TASKS_PER_JOB, len(pool.conns) + 1)
        self.queue: deque[_Job] = deque()  # every job not yet yielded, in walk order
        self.at_child: list[deque[_Job]] = [deque() for _ in pool.conns]
        self.window = (len(pool.conns) + 1) * JOBS_IN_FLIGHT_PER_WORKER  # bounds memory
        self.exhausted = False

    def __iter__(self) -> Iterator[tuple[TaskDir, list[Outcome]]]:
        while True:
            self._feed_and_drain()
            if not self.queue:
                return
            head = self.queue[0]
            if head.outcomes is not None:
                self.queue.popleft()
                yield from zip(head.tasks, head.outcomes, strict=True)
            elif own := self._new_job(None):
                own.outcomes = [self._convert(task) for task in own.tasks]
            else:  # nothing left to do here: wait for the child that holds the next job
                job = self.at_child[head.child].popleft()  # type: ignore[index]
                job.outcomes = self.pool.receive(head.child)  # type: ignore[arg-type]

    def _new_job(self, child: int | None) -> _Job | None:
        if self.exhausted or len(self.queue) >= self.window:
            return None
        tasks = next(self.jobs, None)
        if tasks is None:
            self.exhausted = True
            self.pool.stop()  # the children exit once their jobs are done
            return None
        job = _Job(tasks, child)
        self.queue.append(job)
        if child is not None:
            self.at_child[child].append(job)
            self.pool.submit(child, tasks)
        return job

    def _feed_and_drain(self) -> None:
        """Take in the results that are back; keep every child a few jobs ahead."""
        for k, waiting in enumerate(self.at_child):
            while waiting and self.pool.ready(k):
                waiting.popleft().outcomes = self.pool.receive(k)
            while len(waiting) < JOBS_IN_FLIGHT_PER_WORKER and self._new_job(k):
                pass

    def _convert(self, task: TaskDir) -> list[Outcome]:
        outcomes = convert_task(self.converter, task)
        self._feed_and_drain()  # between tasks, so a child never waits long on a full pipe
        return outcomes


def convert_tasks(
    tasks: Iterable[TaskDir], options: ConvertOptions, pool: WorkerPool | None = None
) -> Iterator[tuple[TaskDir, list[Outcome]]]:
    """``(task, outcomes)`` in walk order, converted here and, given a ``pool``, by its children too."""
    converter = StepConverter(options)
    if pool is None or not pool.conns:
        for task in tasks:
            yield task, convert_task(converter, task)
        return
    yield from _Scheduler(tasks, pool, converter)
