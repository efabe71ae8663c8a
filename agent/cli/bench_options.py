"""What the benchmark-run commands share (``ddx eval ddxplus``, ``ddx eval rarebench``): their
common options, declared once, and how a finished run is reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.cli.common import exit_if_cases_failed

if TYPE_CHECKING:
    from eval.rarebench_schema import RareBenchSummary
    from eval.schema import RunSummary

OUT = typer.Option(
    ..., "--out", help="Run folder: cases.jsonl, summary.json, run.json. Reuse to resume."
)
QUESTIONS = typer.Option(10, "--questions", min=0, help="Question budget per case.")
WORKERS = typer.Option(1, "--workers", min=1, help="Parallel worker processes.")
LIMIT = typer.Option(None, "--limit", min=1, help="Run only this many cases, drawn with --seed.")
SEED = typer.Option(0, "--seed", help="Seed for drawing the --limit cases.")
ROUNDS = typer.Option(
    None,
    "--rounds",
    min=1,
    max=5,
    help="Refinement rounds (MEDDxAgent): the question budget split over them, the differential "
    "refined at each round's end with the previous one fed back "
    "[default: $DDX_REFINEMENT_ROUNDS, else 1].",
    show_default=False,
)
CONFIDENCE = typer.Option(
    None,
    "--confidence",
    help="Stop diagnostic questions once the leading diagnosis reaches this probability "
    "[default: $DDX_CONFIDENCE_THRESHOLD, else 0.99].",
    show_default=False,
)


def stderr_warner() -> Callable[[str], None]:
    """Warnings (skipped rows, failed cases) in yellow on stderr, away from the results."""
    from rich.console import Console

    console = Console(stderr=True)

    def warn(message: str) -> None:
        console.print(f"[yellow]warning:[/] {message}", highlight=False)

    return warn


def report_finished_run(out: Path, summary: RunSummary | RareBenchSummary, failures: int) -> None:
    """Print the run's summary table and where it was written; exit 1 if cases failed."""
    from rich.console import Console

    from eval.report import LoadedRun, summary_table

    run = LoadedRun(label=out.name, summary=summary, cases=[], budget=0)
    Console().print(summary_table([run]))
    typer.echo(f"wrote {out / 'summary.json'} and {out / 'cases.jsonl'}")
    exit_if_cases_failed(failures)
