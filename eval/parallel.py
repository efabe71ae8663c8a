"""Run benchmark cases in parallel worker processes, with a progress bar.

The parent builds the case runner once (graph, engine, checkpointer), so a setup problem (a
missing model file, say) is one clear error before any worker starts. Workers are forked: each
inherits its own copy of that runner, knowledge base and records, shared copy-on-write, never
pickled. Results come back to the parent, which alone writes the results file. A failing case is
reported with its error and not written, so the next run retries it.
"""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from tqdm import tqdm

ResultT = TypeVar("ResultT")
ResultT_co = TypeVar("ResultT_co", covariant=True)


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


_inherited_runner: CaseRunner[object] | None = None
"""Set in the parent just before the workers are forked; each worker runs its own copy."""


def _ignore_interrupts() -> None:
    """Ctrl-C is the parent's to handle: it stops handing out work and keeps what finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_one(runner: CaseRunner[ResultT], index: int) -> ResultT | CaseFailure:
    try:
        return runner.run(index)
    except Exception as exc:  # a bug in one case must not end the run; it is reported
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return CaseFailure(index=index, error=detail)


def _run_chunk(indices: Sequence[int]) -> list[object]:
    runner = _inherited_runner
    assert runner is not None, "the runner is set before the workers are forked"
    return [_run_one(runner, i) for i in indices]


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_cases(
    runner: CaseRunner[ResultT],
    indices: Sequence[int],
    workers: int,
    on_result: Callable[[ResultT], None],
    on_failure: Callable[[CaseFailure], None],
    *,
    description: str = "cases",
    already_done: int = 0,
    chunk_size: int = 8,
) -> None:
    """Run every index, calling ``on_result`` / ``on_failure`` in the parent as cases finish."""
    total = already_done + len(indices)
    with tqdm(total=total, initial=already_done, desc=description, unit="case") as bar:

        def deliver(item: object) -> None:
            if isinstance(item, CaseFailure):
                on_failure(item)
            else:
                on_result(item)  # type: ignore[arg-type]
            bar.update(1)

        if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            for index in indices:
                deliver(_run_one(runner, index))
            return
        if isinstance(runner, WarmsUp) and indices:
            runner.warm_up()
        global _inherited_runner
        _inherited_runner = runner
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_ignore_interrupts
        ) as pool:
            futures: list[Future[list[object]]] = [
                pool.submit(_run_chunk, chunk) for chunk in _chunks(indices, chunk_size)
            ]
            try:
                for future in as_completed(futures):
                    for item in future.result():
                        deliver(item)
            except BaseException:
                for future in futures:
                    future.cancel()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
