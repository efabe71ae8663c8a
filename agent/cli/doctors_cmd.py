"""`ddx doctors ...`: rank doctors for a need, evaluate rankers, make a synthetic set."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from agent.cli.common import load_kb, settings_from
from agent.errors import DdxError, MissingDataError
from data.locations import ensure_folder

if TYPE_CHECKING:
    from rich.console import Console

    from agent.report import FinalReport
    from agent.settings import DdxSettings
    from retrieval.ddxplus_kb import KnowledgeBase
    from retrieval.doctors.criteria import CriteriaProvider
    from retrieval.doctors.rankers import Ranking

app = typer.Typer(
    help="Rank doctors for a patient's need with explanations (after DrRank), evaluate "
    "rankers on DrRank-format data, and generate a synthetic directory.",
    no_args_is_help=True,
)

RANKER_HELP = "baseline (longest profile), bm25, embedded (criteria-aware, default) or llm."
MODEL_HELP = (
    "Sentence-transformers model directory for the embedded ranker (a multilingual model for "
    "Chinese data). Default: the bundled all-MiniLM-L6-v2."
)
BACKEND_HELP = "LLM backend of the llm ranker: hf:<model dir> or openai:<model>@<url>."


def _optional_kb(settings: DdxSettings) -> KnowledgeBase | None:
    """The DDXPlus knowledge base when the data directory has it (criteria are richer with
    it); None otherwise: the criteria then come from the need's own words."""
    try:
        return load_kb(settings)
    except MissingDataError:
        return None


@app.command("rank")
def rank_cmd(
    ctx: typer.Context,
    need: str = typer.Argument(..., help='The need, e.g. "a doctor treating pneumonia".'),
    directory: Path = typer.Option(..., "--directory", help="Doctor directory (.jsonl/.csv)."),
    top: int = typer.Option(5, "--top", min=1, max=100, help="How many doctors to show."),
    explain: bool = typer.Option(
        False, "--explain", help="Show, per doctor, the criteria met and the text that shows it."
    ),
    ranker: str = typer.Option("embedded", "--ranker", help=RANKER_HELP),
    index_dir: Path | None = typer.Option(
        None, "--index-dir", help="Where the directory's index is kept [default: state folder]."
    ),
    embedding_model: str | None = typer.Option(None, "--embedding-model", help=MODEL_HELP),
    backend: str | None = typer.Option(None, "--backend", help=BACKEND_HELP),
    as_json: Path | None = typer.Option(None, "--json", help="Also write the ranking here."),
) -> None:
    """Rank the directory's doctors for a need and show the criteria used.

    The directory is indexed on first use (BM25 + dense, kept in the state folder) and the index
    is reused while the file is unchanged. With the DDXPlus knowledge base in the data folder,
    criteria come from it (department, related conditions, symptoms, treatment).
    """
    from rich.console import Console

    from retrieval.doctors.recommend import DoctorRecommender

    if not need.strip():
        raise DdxError('Say what the patient needs, e.g. "a doctor treating pneumonia".')
    settings = settings_from(ctx)
    recommender = DoctorRecommender.open(
        directory,
        state_dir=settings.state_dir,
        kb=_optional_kb(settings),
        index_dir=index_dir,
        ranker=ranker,
        embedding_model=embedding_model,
        grader_backend=backend,
    )
    console = Console()
    for problem in recommender.index.directory.problems_shown():
        console.print(f"[yellow]{problem}[/]")
    ranking = recommender.rank(need, top=top, explain=True)
    render_ranking(console, ranking, explain)
    if as_json:
        try:
            as_json.parent.mkdir(parents=True, exist_ok=True)
            as_json.write_text(ranking.model_dump_json(indent=1), encoding="utf-8")
        except OSError as exc:
            raise DdxError(f"Cannot write {as_json}: {exc.strerror}.") from None
        console.print(f"wrote {as_json}")


def render_ranking(console: Console, ranking: Ranking, explain: bool) -> None:
    """The criteria, then the ranked doctors (with their evidence when ``explain``)."""
    from rich.markup import escape

    from retrieval.doctors.rationale import summary_line

    criteria = ranking.criteria
    console.print(
        f"[bold]Criteria[/] for {escape(criteria.disease)}"
        + (f" with {escape(criteria.treatment)}" if criteria.treatment else "")
        + f" (source: {criteria.source}):"
    )
    for line in criteria.describe():
        console.print(f"  {escape(line)}")
    console.print(
        f"\n[bold]Top {len(ranking.doctors)}[/] of {ranking.candidates} candidates "
        f"({ranking.ranker}, {ranking.seconds * 1000:.0f} ms):"
    )
    for doctor in ranking.doctors:
        console.print(
            f"{doctor.rank:>3}. {escape(doctor.profile.headline())}  [dim]score "
            f"{doctor.score:.3f} · {summary_line(doctor.rationale)}[/]"
        )
        if explain and doctor.reason:
            console.print(f"       [cyan]grader:[/] {escape(doctor.reason)}")
        if explain:
            for evidence in doctor.rationale:
                if evidence.met:
                    console.print(
                        f"       [green]✓[/] {escape(evidence.key)}: "
                        f"“{escape(evidence.evidence)}” ({evidence.similarity:.2f})"
                    )
                else:
                    console.print(f"       [dim]✗ {escape(evidence.key)}[/]")


def render_report_doctors(console: Console, report: FinalReport) -> None:
    """The consultation report's doctor recommendations (when a directory is configured)."""
    from rich.markup import escape

    if not report.doctors:
        return
    console.print(f"\n[bold]Doctors for {escape(report.doctors_for)}[/]")
    for i, doctor in enumerate(report.doctors, start=1):
        met = f" — meets: {', '.join(doctor.criteria_met)}" if doctor.criteria_met else ""
        console.print(f"  {i}. {escape(doctor.headline)}[dim]{escape(met)}[/]")


def _criteria_provider(
    choice: str, kb: KnowledgeBase | None, state_dir: Path, tag: str, backend: str | None
) -> CriteriaProvider:
    from retrieval.doctors.criteria import CachedCriteria, NeedCriteria
    from retrieval.doctors.kb_criteria import KbCriteria
    from retrieval.doctors.written_criteria import CriteriaFile, LlmCriteria

    auto = KbCriteria(kb) if kb is not None else NeedCriteria()
    if choice == "auto":
        provider: CriteriaProvider = auto
    elif choice == "llm":
        from retrieval.doctors.llm_grader import client_for

        if not backend:
            raise DdxError("--criteria llm needs --backend (hf:<dir> or openai:<model>@<url>).")
        provider = LlmCriteria(client_for(backend))
    elif choice == "need":
        provider = NeedCriteria()
    elif choice == "kb":
        if kb is None:
            raise DdxError("--criteria kb needs the DDXPlus knowledge base in the data folder.")
        provider = auto
    else:
        provider = CriteriaFile(Path(choice), fallback=auto)
    return CachedCriteria(provider, state_dir / "doctor_criteria", tag=tag)


@app.command("eval")
def eval_cmd(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="DrRank-format JSONL (query, pos, ...)."),
    out: Path = typer.Option(..., "--out", help="Folder for summary.json and the rankings."),
    ranker: str = typer.Option("embedded", "--ranker", help=RANKER_HELP),
    criteria: str = typer.Option(
        "auto",
        "--criteria",
        help="auto (knowledge base when present, else the need's words), kb, need, llm "
        "(written by --backend, cached), or a criteria JSON file such as DrRank's "
        "criteria_qwen2.5-7b-instruct.json.",
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N queries."),
    fairness: bool = typer.Option(
        False, "--fairness", help="Also run the gender × region probes (fairness.json)."
    ),
    embedding_model: str | None = typer.Option(None, "--embedding-model", help=MODEL_HELP),
    backend: str | None = typer.Option(None, "--backend", help=BACKEND_HELP),
    seed: int = typer.Option(0, "--seed", help="Seed of the candidate shuffle."),
) -> None:
    """Evaluate a ranker on DrRank-format queries (candidates given: no first stage).

    summary.json holds n_queries, ndcg@1, ndcg@5, ndcg@10, map, mrr@10 (ir-measures,
    pytrec_eval's definitions), pnr (positive–negative pair ratio) and seconds.
    """
    from eval.doctor_ranking import evaluate
    from eval.run_claim import claim_for
    from retrieval.doctors.drrank import load_drrank
    from retrieval.doctors.llm_grader import LlmGrader
    from retrieval.doctors.rankers import make_ranker

    settings = settings_from(ctx)
    dataset = load_drrank(data, limit)
    ensure_folder(out, "output folder")  # before the evaluation: its results need a home
    claim_for(out, "doctors")  # never into another benchmark's run folder
    for problem in dataset.problems[:20]:
        typer.secho(problem, fg=typer.colors.YELLOW, err=True)
    encoder = None
    if ranker == "embedded":
        from retrieval.embeddings import load_encoder

        encoder = load_encoder(embedding_model)
    chosen = make_ranker(ranker, encoder=encoder, grader_backend=backend)
    tag = encoder.name if encoder is not None else ""
    provider = _criteria_provider(
        criteria, _optional_kb(settings), settings.state_dir, tag, backend
    )
    started = time.perf_counter()
    result = evaluate(dataset.queries, chosen, provider, seed=seed, progress=True)
    summary = result.summary()
    summary["seconds"] = round(time.perf_counter() - started, 3)
    summary.update(
        {"data": str(data), "criteria": provider.name, "skipped_lines": len(dataset.problems)}
    )
    failures = chosen.failures if isinstance(chosen, LlmGrader) else 0
    if failures:  # candidates the llm ranker got no valid grade for
        summary["grading_failures"] = failures
        typer.secho(f"{failures} grading(s) got no valid label and scored 0", fg="yellow", err=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    with (out / "rankings.jsonl").open("w", encoding="utf-8") as handle:
        for qid, order in result.rankings.items():
            row = {"id": qid, "ranking": order, "metrics": result.per_query.get(qid, {})}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    if fairness:
        from eval.doctor_fairness import probe

        report = probe(dataset.queries, chosen, provider, base=result, seed=seed, progress=True)
        (out / "fairness.json").write_text(
            json.dumps(report.to_json(), indent=1, ensure_ascii=False), encoding="utf-8"
        )
        verdict = "FLAGGED: rankings change" if report.flagged else "rankings unchanged"
        typer.echo(f"fairness probes: {verdict} (see {out / 'fairness.json'})")
    shown = ", ".join(
        f"{k} {summary[k]}" for k in ("ndcg@1", "ndcg@5", "ndcg@10", "map", "mrr@10", "pnr")
    )
    typer.echo(f"{result.n_queries} queries, ranker {chosen.name}: {shown}")
    typer.echo(f"wrote {out / 'summary.json'}")


@app.command("synth")
def synth_cmd(
    ctx: typer.Context,
    n: int = typer.Option(50, "--n", min=1, max=10_000, help="Number of queries."),
    out: Path = typer.Option(..., "--out", help="DrRank-format queries file (.jsonl)."),
    candidates: int = typer.Option(
        100, "--candidates", min=10, max=5_000, help="Graded candidates per query."
    ),
    seed: int = typer.Option(13, "--seed", help="Same seed, same set."),
) -> None:
    """Write a SYNTHETIC directory and DrRank-format queries with graded labels.

    Profiles are invented; grades follow from how each profile was built for its query
    (department, the condition or related ones, the treatment) — see retrieval/doctors/synth.py.
    The directory is written next to --out as <name>.directory.jsonl. Needs the DDXPlus
    knowledge base (conditions, ICD-10 chapters) in the data folder.
    """
    from retrieval.doctors import synth

    kb = load_kb(settings_from(ctx))
    queries = synth.generate(kb, n, candidates, seed)
    try:
        directory = synth.write(queries, out)
    except OSError as exc:
        raise DdxError(f"Cannot write {out}: {exc.strerror}.") from None
    typer.echo(f"{synth.SYNTHETIC_NOTE}\nwrote {out} ({n} queries) and {directory}")
