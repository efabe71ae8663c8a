"""`ddx eval ...`: benchmark runs and reports."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli import bench_options, eval_retrieval_cmd, knowledge_options, rarebench_cmd
from agent.cli.common import exit_if_cases_failed, exit_interrupted, load_kb, settings_from
from agent.errors import DdxError
from agent.llm import options as llm_options

app = typer.Typer(help="Run benchmarks and compare runs.", no_args_is_help=True)
app.command("retrieval")(eval_retrieval_cmd.retrieval)
app.command("rarebench")(rarebench_cmd.rarebench)


@app.command("ddxplus")
def ddxplus(
    ctx: typer.Context,
    patients: Path = typer.Option(
        ..., "--patients", help="DDXPlus patient CSV (official columns), e.g. dev_patients.csv."
    ),
    out: Path = bench_options.OUT,
    questions: int = bench_options.QUESTIONS,
    workers: int = bench_options.WORKERS,
    limit: int | None = bench_options.LIMIT,
    seed: int = bench_options.SEED,
    full_profile: bool = typer.Option(
        False, "--full-profile", help="Give every answer up front and ask nothing."
    ),
    confidence: float | None = bench_options.CONFIDENCE,
    rounds: int | None = bench_options.ROUNDS,
    model: Path | None = typer.Option(
        None,
        "--model",
        help="'structural' (no data) or a model file from `ddx kb fit` [default: the shipped "
        "model fitted on the train split].",
        show_default=False,
    ),
    doctor: str | None = llm_options.DOCTOR,
    diagnoser: str | None = llm_options.DIAGNOSER,
    patient: str | None = llm_options.PATIENT,
    strategy: str | None = llm_options.STRATEGY,
    cache: bool = llm_options.CACHE,
    examples: Path | None = typer.Option(
        None, "--examples", help="Solved patients (CSV) for the fewshot-knn strategy."
    ),
    knowledge: bool = typer.Option(
        False,
        "--knowledge",
        help="Retrieve from the built-in DDXPlus index (`ddx index build --builtin ddxplus`): "
        "cited in each report and read by an LLM diagnoser.",
    ),
    online: bool = knowledge_options.ONLINE,
    doctors: bool = typer.Option(
        False, "--doctors", help="Recommend doctors in each report (needs DDX_DOCTOR_DIRECTORY)."
    ),
) -> None:
    """Benchmark the consultation graph on DDXPlus patients, the simulator answering.

    Each consultation starts from age, sex and the chief complaint and asks up to --questions
    questions. Results are appended to OUT/cases.jsonl as cases finish; run the same command
    again to finish a killed run. Metrics (GTPA@k, DDR/DDP/DDF1, ECE, …) go to
    OUT/summary.json.
    """
    from eval.ddxplus_bench import DdxPlusRequest, run_ddxplus

    settings = settings_from(
        ctx,
        confidence_threshold=confidence,
        refinement_rounds=rounds,
        doctor=doctor,
        diagnoser=diagnoser,
        patient=patient,
        strategy=strategy,
    )
    kb = load_kb(settings)
    from agent.assembly import ConsultOptions, assemble
    from agent.reasoners.llm.ddxplus_roles import ddxplus_patients

    if examples is not None and examples.resolve() == patients.resolve():
        raise DdxError("--examples must not be the evaluated --patients file.")
    options = ConsultOptions(
        retrieval="on" if knowledge else "off",
        online=online,
        doctors=doctors,
        model_path=model,
        examples=examples,
        cache=cache,
    )
    warn = bench_options.stderr_warner()
    assembled = assemble(settings, kb, options, warn)
    request = DdxPlusRequest(
        patients=patients,
        out=out,
        questions=questions,
        workers=workers,
        limit=limit,
        seed=seed,
        full_profile=full_profile,
        confidence_threshold=settings.confidence_threshold,
        refinement_rounds=settings.refinement_rounds,
        model_path=model,
        context=assembled.context,
        label=assembled.label,
        patient_factory=ddxplus_patients(assembled.clients),
        max_consecutive_failures=settings.max_consecutive_failures,
    )
    try:
        outcome = run_ddxplus(kb, request, warn=warn)
    except KeyboardInterrupt:
        raise exit_interrupted(out) from None
    bench_options.report_finished_run(out, outcome.summary, len(outcome.failures))


@app.command("icraftmd")
def icraftmd(
    ctx: typer.Context,
    cases: Path | None = typer.Option(
        None,
        "--cases",
        help="iCraft-MD cases (JSONL) (default: DATA_DIR/icraftmd/dev_cases.jsonl).",
        show_default=False,
    ),
    out: Path = typer.Option(..., "--out", help="Run folder; reuse it to resume."),
    questions: int = typer.Option(10, "--questions", min=0, help="Question budget per case."),
    mode: str = typer.Option(
        "mc", "--mode", help="mc: choose among the options; open: rank diagnoses freely."
    ),
    rounds: int = typer.Option(
        1, "--rounds", min=1, max=3, help="Refinement rounds (history → diagnosis), 1–3."
    ),
    concurrency: int = typer.Option(
        1, "--concurrency", min=1, max=256, help="Cases in flight at once (LLM calls)."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Run only this many cases."),
    seed: int = typer.Option(0, "--seed", help="Seed for drawing the --limit cases."),
    doctor: str | None = llm_options.DOCTOR,
    diagnoser: str | None = llm_options.DIAGNOSER,
    patient: str | None = llm_options.PATIENT,
    strategy: str | None = llm_options.STRATEGY,
    cache: bool = llm_options.CACHE,
    index: Path | None = typer.Option(
        None,
        "--index",
        help="A knowledge index (`ddx index build --corpus FILE --out DIR`) searched for the "
        "candidates: the doctor and the diagnoser read the passages.",
    ),
    online: bool = knowledge_options.ONLINE,
) -> None:
    """Benchmark an LLM doctor on iCraft-MD dermatology cases, an LLM patient answering.

    The doctor starts from the first sentence of the vignette and asks up to --questions
    questions; the patient reveals only the case's facts. Summary (accuracy or GTPA@k, LLM
    calls, invalid outputs, seconds) goes to OUT/summary.json.
    """
    from eval.icraftmd_command import run_from_options

    if mode not in ("mc", "open"):
        raise DdxError(f"--mode must be mc or open, not {mode!r}.")
    settings = settings_from(
        ctx, doctor=doctor, diagnoser=diagnoser, patient=patient, strategy=strategy
    )
    outcome = run_from_options(
        settings,
        cases_path=cases,
        out=out,
        questions=questions,
        mode="mc" if mode == "mc" else "open",
        rounds=rounds,
        concurrency=concurrency,
        limit=limit,
        seed=seed,
        cache=cache,
        warn=lambda message: typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True),
        index=index,
        online=online,
    )
    for key, value in outcome.summary.model_dump(by_alias=True).items():
        typer.echo(f"{key}: {value}")
    typer.echo(f"wrote {out / 'summary.json'} and {out / 'cases.jsonl'}")
    exit_if_cases_failed(len(outcome.failures))


@app.command("report")
def report(
    runs: list[Path] = typer.Argument(..., help="Run folders written by `ddx eval ...`."),
    plot: Path | None = typer.Option(
        None,
        "--plot",
        help="Also plot accuracy against the questions asked to this PNG (DDXPlus runs).",
    ),
    frontier: Path | None = typer.Option(
        None,
        "--frontier",
        help="Also plot the differential list's size against its DDF1 to this PNG.",
    ),
) -> None:
    """Print runs side by side; with --plot, plot accuracy (GTPA@1) against the questions asked.

    DDXPlus, RareBench and iCraft-MD runs all print (top-k accuracy is gtpa@k in each); only
    DDXPlus runs with their cases.jsonl have a curve. With --frontier, the list-size / DDF1
    trade-off of the runs' differential lists. Nothing is written unless asked.
    """
    from rich.console import Console

    from eval.report import load_run, plot_accuracy_curves, summary_table

    if not runs:
        raise DdxError("Name at least one run folder.")
    for path, option in ((plot, "--plot"), (frontier, "--frontier")):
        if path is not None and path.is_dir():
            raise DdxError(f"{option} {path} is a folder; name a PNG file, e.g. {path}/plot.png.")
    loaded = [load_run(path) for path in runs]
    Console().print(summary_table(loaded))
    if plot is not None and any(run.cases for run in loaded):
        typer.echo(f"wrote {plot_accuracy_curves(loaded, plot)}")
    elif plot is not None:
        typer.echo("no accuracy plot: it needs a DDXPlus run's cases.jsonl")
    if frontier is not None:
        from eval.frontier_plot import plot_list_frontier

        typer.echo(f"wrote {plot_list_frontier(loaded, frontier)}")
