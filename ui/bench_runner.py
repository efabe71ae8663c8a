"""A benchmark started from the app: ``ddx eval ddxplus`` in its own process, its progress read
from the run folder it writes.

The run is the same command a researcher types (same results file, same summary, resumable:
starting it again on the same folder finishes a stopped run), so what the Benchmarks page shows
is what ``ddx eval report`` would show. Progress is the number of lines of ``cases.jsonl``
(one per finished case) against the number of cases asked for. No Streamlit here.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from agent.errors import DdxError
from eval.schema import CASES_FILE
from ui.jobs import Progress

POLL_SECONDS = 1.0


@dataclass(frozen=True)
class BenchRequest:
    """What the page asks for: DDXPlus patients, how many, how many questions, where to."""

    patients: Path
    cases: int
    questions: int
    out: Path

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-c",
            "from agent.cli import main; main()",  # `ddx`, with this very interpreter
            "eval",
            "ddxplus",
            "--patients",
            str(self.patients),
            "--limit",
            str(self.cases),
            "--questions",
            str(self.questions),
            "--workers",
            "1",
            "--out",
            str(self.out),
        ]


def finished_cases(out: Path) -> int:
    """Cases written so far (lines of the results file)."""
    try:
        with (out / CASES_FILE).open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return 0


def run_benchmark(request: BenchRequest, progress: Progress) -> Path:
    """Run the benchmark to its end, reporting finished cases; the run folder on success,
    DdxError with the command's last words otherwise."""
    if not request.patients.is_file():
        raise DdxError(f"{request.patients} not found: give a DDXPlus patient CSV.")
    request.out.mkdir(parents=True, exist_ok=True)
    log = request.out / "app-run.log"
    stage = f"Consulting {request.cases} simulated patients"
    with log.open("wb") as output:
        process = subprocess.Popen(
            request.command(), stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
        while process.poll() is None:
            progress(stage, finished_cases(request.out), request.cases)
            time.sleep(POLL_SECONDS)
    progress(stage, finished_cases(request.out), request.cases)
    if process.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        raise DdxError(f"The benchmark stopped: {' '.join(tail) or 'no output'}")
    return request.out
