"""Long work on a background thread, with progress any page can show.

Loading a large doctor directory, embedding the HPO names for free-text phenotypes, building a
knowledge index or running a benchmark takes from seconds to minutes. Done inside a Streamlit
script run, that work dies when the person clicks elsewhere (Streamlit stops the run) and shows
nothing meanwhile. Here it runs on its own thread, once per process and key, whatever the
number of browser sessions; a page only reads :attr:`Job.status` and polls until it is done.
Nothing here imports Streamlit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from agent.errors import DdxError

T = TypeVar("T")
_log = logging.getLogger(__name__)


class Progress(Protocol):
    """What long work calls to say where it is: a stage and, when countable, done of total."""

    def __call__(self, stage: str, done: int = 0, total: int = 0) -> None: ...


def no_progress(stage: str, done: int = 0, total: int = 0) -> None:
    """A :class:`Progress` that tells nobody (the command line, tests)."""


@dataclass(frozen=True)
class Status:
    """A snapshot of a job, for display."""

    title: str
    stage: str
    done: int
    total: int
    seconds: float
    finished: bool
    error: str | None

    @property
    def fraction(self) -> float | None:
        """Share done (0–1) when countable, else None (show a spinner)."""
        return min(1.0, self.done / self.total) if self.total > 0 else None

    def line(self) -> str:
        """'Embedding the doctor directory: 1,200 of 2,524 (35 s)'."""
        count = f": {self.done:,} of {self.total:,}" if self.total > 0 else ""
        return f"{self.stage}{count} ({self.seconds:.0f} s)"


class Job(Generic[T]):
    """One piece of work on a daemon thread. A user's mistake (:class:`DdxError`) ends it with
    :attr:`error` set; any other exception too, with its type named, so a page never waits on
    a dead thread."""

    def __init__(self, title: str, work: Callable[[Progress], T]) -> None:
        self.title = title
        self._work = work
        self._lock = threading.Lock()
        self._stage, self._done, self._total = "Starting", 0, 0
        self._started = time.monotonic()
        self._ended: float | None = None
        self.result: T | None = None
        self.error: str | None = None
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ddx-job: {title}", daemon=True)

    def start(self) -> Job[T]:
        self._thread.start()
        return self

    def report(self, stage: str, done: int = 0, total: int = 0) -> None:
        with self._lock:
            self._stage, self._done, self._total = stage, done, total

    def _run(self) -> None:
        try:
            self.result = self._work(self.report)
        except DdxError as exc:
            self.error = str(exc)
        except Exception as exc:  # a bug: shown to the person, the traceback to the server log
            _log.exception("background job %r failed", self.title)
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._ended = time.monotonic()
            self._finished.set()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the end; True when it has ended."""
        return self._finished.wait(seconds)

    @property
    def status(self) -> Status:
        with self._lock:
            stage, done, total = self._stage, self._done, self._total
        end = self._ended if self._ended is not None else time.monotonic()
        return Status(
            self.title, stage, done, total, end - self._started, self.finished, self.error
        )


class JobBoard:
    """The process's jobs by key: asking twice for the same work returns the same job (running
    or done); a failed job is replaced by a new try when asked again."""

    def __init__(self) -> None:
        self._jobs: dict[Hashable, Job[Any]] = {}
        self._lock = threading.Lock()

    def start(self, key: Hashable, title: str, work: Callable[[Progress], T]) -> Job[T]:
        with self._lock:
            job = self._jobs.get(key)
            if job is None or job.error is not None:
                job = Job(title, work).start()
                self._jobs[key] = job
            started: Job[T] = job
            return started

    def forget(self, key: Hashable) -> None:
        """Drop a finished job, so the next :meth:`start` does the work again (e.g. reload an
        engine after its knowledge index was built)."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.finished:
                del self._jobs[key]

    def get(self, key: Hashable) -> Job[Any] | None:
        with self._lock:
            return self._jobs.get(key)

    def running(self) -> list[Job[Any]]:
        with self._lock:
            return [job for job in self._jobs.values() if not job.finished]
