"""`ddx eval ...`: benchmark runs and reports."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import load_kb, settings_from
from agent.errors import DdxError

app = typer.Typer(help="Run benchmarks and compare runs.", no_args_is_help=True)


@app.command("ddxplus")
def ddxplus(
    ctx: typer.Context,
    patients: Path = typer.Option(
        ..., "--patients", help="DDXPlus patient CSV (official columns), e.g. dev_patients.csv."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Run folder: cases.jsonl, summary.json, run.json. Reuse to resume."
    ),
    questions: int = typer.Option(10, "--questions", min=0, help="Question budget per case."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel worker processes."),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Run only this many cases, drawn with --seed."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for drawing the --limit cases."),
    full_profile: bool = typer.Option(
        False, "--full-profile", help="Give every answer up front and ask nothing."
    ),
    confidence: float | None = typer.Option(
        None,
        "--confidence",
        help="Stop asking once the leading diagnosis reaches this probability "
        "[default: $DDX_CONFIDENCE_THRESHOLD, else 0.95].",
        show_default=False,
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Likelihood model fitted with `ddx kb fit` (default: structural)."
    ),
) -> None:
    """Benchmark the consultation graph on DDXPlus patients, the simulator answering.

    Each consultation starts from age, sex and the chief complaint and asks up to --questions
    questions. Results are appended to OUT/cases.jsonl as cases finish; run the same command
    again to finish a killed run. Metrics (GTPA@k, DDR/DDP/DDF1, ECE, …) go to
    OUT/summary.json.
    """
    from rich.console import Console

    from eval.ddxplus_bench import DdxPlusRequest, run_ddxplus
    from eval.report import LoadedRun, summary_table

    settings = settings_from(ctx, confidence_threshold=confidence)
    kb = load_kb(settings)
    console = Console(stderr=True)
    request = DdxPlusRequest(
        patients=patients,
        out=out,
        questions=questions,
        workers=workers,
        limit=limit,
        seed=seed,
        full_profile=full_profile,
        confidence_threshold=settings.confidence_threshold,
        model_path=model,
    )
    try:
        outcome = run_ddxplus(
            kb,
            request,
            warn=lambda message: console.print(f"[yellow]warning:[/] {message}", highlight=False),
        )
    except KeyboardInterrupt:
        typer.secho(
            f"\ninterrupted: finished cases are saved in {out / 'cases.jsonl'}; "
            "run the same command again to finish the rest.",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(130) from None
    run = LoadedRun(label=out.name, summary=outcome.summary, cases=[], budget=questions)
    Console().print(summary_table([run]))
    typer.echo(f"wrote {out / 'summary.json'} and {out / 'cases.jsonl'}")
    if outcome.failures:
        typer.secho(
            f"{len(outcome.failures)} case(s) failed and were not recorded; "
            "run the same command again to retry them.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)


@app.command("report")
def report(
    runs: list[Path] = typer.Argument(..., help="Run folders written by `ddx eval ...`."),
    plot: Path = typer.Option(
        Path("accuracy_vs_questions.png"), "--plot", help="Where to write the accuracy plot."
    ),
) -> None:
    """Print runs side by side and plot accuracy (GTPA@1) against the question budget."""
    from rich.console import Console

    from eval.report import load_run, plot_accuracy_curves, summary_table

    if not runs:
        raise DdxError("Name at least one run folder.")
    loaded = [load_run(path) for path in runs]
    Console().print(summary_table(loaded))
    written = plot_accuracy_curves(loaded, plot)
    typer.echo(f"wrote {written}")
