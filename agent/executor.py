"""Run many independent cases in forked worker processes or in threads, with a progress bar.

One executor for every batch job (benchmarks, fine-tuning dialogues, tuning sweeps): a ground
module, so the harness and the core both use it without importing each other.

- **processes** (CPU-bound consultations): the parent builds the case runner once (graph,
  engine, checkpointer), so a setup problem is one clear error before any worker starts.
  Workers are forked and inherit that runner copy-on-write, never pickled. A worker exits when
  its parent dies (``kill -9`` of the parent leaves no orphan behind).
- **threads** (I/O-bound LLM calls: the server batches them): at most ``workers`` cases in
  flight at once.

Results come back to the parent, which alone calls ``on_result`` / ``on_failure``. A failing
case is reported with the root cause of its error (not the wrapper a library put around it)
and the run goes on, until ``max_consecutive_failures`` cases fail in a row or a ``fatal``
error (a backend that is down) is raised: then the run stops after the cases in flight and
:func:`run_cases` returns why, in one line.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    as_completed,
)
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Literal, Never, Protocol, TypeVar, runtime_checkable

from tqdm import tqdm

from agent.settings import MAX_CONSECUTIVE_FAILURES

ResultT = TypeVar("ResultT")
ResultT_co = TypeVar("ResultT_co", covariant=True)
RecordT = TypeVar("RecordT")

Mode = Literal["processes", "threads"]
PARENT_POLL_SECONDS = 1.0
"""How often a worker checks that its parent is still alive (where prctl is not available)."""
_PR_SET_PDEATHSIG = 1


class CaseRunner(Protocol[ResultT_co]):
    def run(self, index: int) -> ResultT_co: ...


@runtime_checkable
class WarmsUp(Protocol):
    """A runner with one-time lazy work (schemas built on first use, caches) that it can do in
    the parent, before the workers are forked, instead of once in every worker."""

    def warm_up(self) -> None: ...


@dataclass(frozen=True)
class CaseFailure:
    index: int
    error: str
    """``Type: message`` of the root cause, one line."""
    fatal: bool = False
    """The error is one of the run's ``fatal`` types: no later case can succeed."""


def select_cases(records: list[RecordT], limit: int | None, seed: int) -> list[RecordT]:
    """All records, or ``limit`` of them drawn with ``seed`` (kept in file order)."""
    if limit is None or limit >= len(records):
        return records
    chosen = sorted(random.Random(seed).sample(range(len(records)), limit))
    return [records[i] for i in chosen]


def root_cause(exc: BaseException) -> BaseException:
    """The innermost explicit cause (``raise … from``) of an exception: what went wrong, not
    the wrapper a library (LangGraph's task error, a retry helper) put around it."""
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def describe_error(exc: BaseException) -> str:
    """One line: the root cause's type and the first line of its message.

    Notes added with ``add_note`` (LangGraph adds "During task with name …") are left out: they
    say where the error passed, not what it is.
    """
    cause = root_cause(exc)
    message = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {message[0]}" if message else type(cause).__name__


def _run_one(
    runner: CaseRunner[ResultT], index: int, fatal: tuple[type[BaseException], ...]
) -> ResultT | CaseFailure:
    try:
        return runner.run(index)
    except Exception as exc:  # one case's error must not end the run; it is reported
        is_fatal = isinstance(exc, fatal) or isinstance(root_cause(exc), fatal)
        return CaseFailure(index=index, error=describe_error(exc), fatal=is_fatal)


class _Tally:
    """Delivers items in the parent and decides when the run must stop."""

    def __init__(
        self,
        on_result: Callable[[ResultT], None],
        on_failure: Callable[[CaseFailure], None],
        bar: tqdm[Never],
        limit: int,
    ) -> None:
        self.on_result: Callable[[object], None] = on_result  # type: ignore[assignment]
        self.on_failure = on_failure
        self.bar = bar
        self.limit = limit
        self.in_a_row = 0
        self.stopped: str | None = None

    def deliver(self, item: object) -> None:
        if isinstance(item, CaseFailure):
            self.on_failure(item)
            self.in_a_row += 1
            if item.fatal and self.stopped is None:
                self.stopped = item.error
            elif self.in_a_row >= self.limit and self.stopped is None:
                self.stopped = f"{self.in_a_row} cases failed in a row, the last with {item.error}"
        else:
            self.on_result(item)
            self.in_a_row = 0
        self.bar.update(1)


def run_cases(
    runner: CaseRunner[ResultT],
    indices: Sequence[int],
    workers: int,
    on_result: Callable[[ResultT], None],
    on_failure: Callable[[CaseFailure], None],
    *,
    mode: Mode = "processes",
    description: str = "cases",
    already_done: int = 0,
    chunk_size: int = 8,
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES,
    fatal: tuple[type[BaseException], ...] = (),
) -> str | None:
    """Run every index, calling ``on_result`` / ``on_failure`` in the parent as cases finish.

    Returns None when every case was tried, else why the run stopped early (one line); the
    cases not tried are simply not reported, so a resumed run tries them.
    """
    total = already_done + len(indices)
    limit = max(1, max_consecutive_failures)
    with tqdm(total=total, initial=already_done, desc=description, unit="case") as bar:
        tally = _Tally(on_result, on_failure, bar, limit)
        if workers <= 1 or (mode == "processes" and not _can_fork()):
            for index in indices:
                tally.deliver(_run_one(runner, index, fatal))
                if tally.stopped:
                    break
        elif mode == "threads":
            _run_threads(runner, indices, workers, tally, fatal)
        else:
            _run_processes(runner, indices, workers, tally, fatal, chunk_size)
        return tally.stopped


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _run_threads(
    runner: CaseRunner[object],
    indices: Sequence[int],
    workers: int,
    tally: _Tally,
    fatal: tuple[type[BaseException], ...],
) -> None:
    queue = list(reversed(indices))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: set[Future[object]] = set()
        while True:
            while queue and len(pending) < workers and not tally.stopped:
                pending.add(pool.submit(_run_one, runner, queue.pop(), fatal))
            if not pending:
                return
            finished, pending = wait_futures(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                tally.deliver(future.result())


# --- forked worker processes ---------------------------------------------------------------

_inherited: tuple[CaseRunner[object], tuple[type[BaseException], ...], int] | None = None
"""Set in the parent just before the workers are forked; each worker runs its own copy."""


def _exit_with_parent(parent: int) -> None:
    """Make this worker die with its parent: the kernel's parent-death signal on Linux, and a
    watcher thread everywhere (a parent killed with -9 cannot clean up after itself)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died between the fork and the prctl
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _start_worker(parent: int) -> None:
    """Ctrl-C is the parent's to handle: it stops handing out work and keeps what finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent(parent)


def _run_chunk(indices: Sequence[int]) -> list[object]:
    assert _inherited is not None, "the runner is set before the workers are forked"
    runner, fatal, limit = _inherited
    items: list[object] = []
    in_a_row = 0
    for index in indices:
        item = _run_one(runner, index, fatal)
        items.append(item)
        in_a_row = in_a_row + 1 if isinstance(item, CaseFailure) else 0
        if in_a_row >= limit or (isinstance(item, CaseFailure) and item.fatal):
            break  # the rest of the chunk is not tried: the run is stopping
    return items


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _run_processes(
    runner: CaseRunner[object],
    indices: Sequence[int],
    workers: int,
    tally: _Tally,
    fatal: tuple[type[BaseException], ...],
    chunk_size: int,
) -> None:
    if isinstance(runner, WarmsUp) and indices:
        runner.warm_up()
    global _inherited
    _inherited = (runner, fatal, tally.limit)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(),),
    ) as pool:
        futures = [pool.submit(_run_chunk, chunk) for chunk in _chunks(indices, chunk_size)]
        try:
            for future in as_completed(futures):
                for item in future.result():
                    tally.deliver(item)
                if tally.stopped:
                    _stop_pool(pool, futures)
                    return
        except BaseException:
            _stop_pool(pool, futures)
            raise


def _stop_pool(pool: ProcessPoolExecutor, futures: list[Future[list[object]]]) -> None:
    """Cancel what has not started and end the workers: cases in flight are dropped (they were
    not recorded, so the next run tries them)."""
    for future in futures:
        future.cancel()
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):
            process.terminate()
