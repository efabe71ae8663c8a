"""Reading finished (or killed) benchmark runs back, and showing them side by side.

A run folder holds the files described in :mod:`eval.schema` (its summary is a DDXPlus,
RareBench or iCraft-MD one); this module loads them into a :class:`LoadedRun`, lays several
runs out in a rich table, plots their accuracy curves, and writes ``summary.json``. Files are
written atomically (temporary file, then rename) so a reader never sees half a summary or half
a PNG.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError
from rich.table import Table

from agent.errors import DataFormatError, MissingDataError
from agent.files import atomic_write, write_output_file
from eval.metrics import accuracy_curve, summarize
from eval.rarebench_schema import RareBenchSummary
from eval.results_file import read_cases, validation_message
from eval.run_claim import COMMANDS, folder_benchmark
from eval.schema import (
    CASES_FILE,
    CONFIG_FILE,
    SUMMARY_FILE,
    CaseResult,
    RunConfig,
    RunStatus,
    RunSummary,
)

MISSING = "—"

if TYPE_CHECKING:
    from eval.icraftmd_schema import IcraftSummary

SummaryT = TypeVar("SummaryT", bound=RunStatus)
REPORTED = ("ddxplus", "rarebench", "icraftmd")


@dataclass(frozen=True)
class LoadedRun:
    """One run folder, read back.

    ``label`` is the folder's name (how runs are told apart in tables and plots); ``budget`` is
    the largest number of questions any case reached, the x range of its accuracy curve.
    ``cases`` are DDXPlus cases only: a RareBench run is read as its summary, since whether a
    step's top disease is right needs the HPO knowledge base's id and name matching; an
    iCraft-MD run has no per-question snapshots to draw a curve from.
    """

    label: str
    summary: RunSummary | RareBenchSummary | IcraftSummary
    cases: list[CaseResult]
    budget: int


def _read_summary(path: Path, model: type[SummaryT]) -> SummaryT:
    try:
        return model.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise DataFormatError(f"{path}: not a run summary ({validation_message(exc)}).") from exc


def _read_config(path: Path) -> RunConfig | None:
    if not path.is_file():
        return None
    try:
        return RunConfig.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        raise DataFormatError(
            f"{path}: not a run configuration ({validation_message(exc)})."
        ) from exc


def _summary_path(run_dir: Path, benchmark: str) -> Path:
    path = run_dir / SUMMARY_FILE
    if not path.is_file():
        raise MissingDataError(
            f"{run_dir} has no {SUMMARY_FILE} yet: run the same `{COMMANDS[benchmark]}` "
            "command again to finish the run and write it."
        )
    return path


def _load_icraftmd(run_dir: Path) -> LoadedRun:
    """An iCraft-MD run: its summary, recomputed from its cases when it was written by an
    earlier version (an untyped dict without ``gtpa@3``, say)."""
    from eval.icraftmd_cases import IcraftCaseResult
    from eval.icraftmd_schema import IcraftSummary, summarize
    from eval.results_file import read_results

    path = _summary_path(run_dir, "icraftmd")
    try:
        summary = IcraftSummary.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        cases = read_results(run_dir / CASES_FILE, IcraftCaseResult)
        if not cases:
            raise DataFormatError(
                f"{path}: not a run summary ({validation_message(exc)}), and no "
                f"{CASES_FILE} to recompute it from."
            ) from None
        old = json.loads(path.read_bytes())
        mode = str(old.get("mode", "mc")) if isinstance(old, dict) else "mc"
        seconds = float(old.get("seconds", 0.0)) if isinstance(old, dict) else 0.0
        summary = summarize(cases, mode, seconds, label=run_dir.name)
    budget = summary.questions_budget or 0
    return LoadedRun(label=run_dir.name, summary=summary, cases=[], budget=budget)


def _budget(cases: Sequence[CaseResult]) -> int:
    seen = [c.questions_asked for c in cases] + [s.questions for c in cases for s in c.steps]
    return max(seen, default=0)


def load_run(run_dir: Path) -> LoadedRun:
    """Read a run folder: its cases (cases.jsonl) and summary (summary.json).

    When summary.json is missing (a run that was killed before writing it) the summary is
    recomputed from the cases; its ``seconds`` is then the sum of the per-case times, since the
    run's wall time was never recorded, and ``skipped`` is 0. A folder with a summary but no
    cases.jsonl loads with no cases. A RareBench run (``benchmark`` in run.json) loads as its
    summary alone, which it needs.

    A killed run can leave the last line of cases.jsonl half written, so a LAST line that is
    not valid JSON is skipped silently. Any other bad line (invalid JSON before the end, or
    valid JSON that is not a case) raises :class:`DataFormatError` naming the file and line:
    silently dropping cases from the middle would bias the metrics.

    Raises:
        MissingDataError: the folder does not exist or has neither cases.jsonl nor summary.json.
        DataFormatError: a file is there but malformed.
    """
    if not run_dir.is_dir():
        raise MissingDataError(f"Run folder {run_dir} does not exist; check the path.")
    cases_path, summary_path = run_dir / CASES_FILE, run_dir / SUMMARY_FILE
    if not cases_path.is_file() and not summary_path.is_file():
        raise MissingDataError(
            f"{run_dir} has neither {CASES_FILE} nor {SUMMARY_FILE}: is it a benchmark run folder?"
        )
    benchmark = folder_benchmark(run_dir) or "ddxplus"
    if benchmark not in REPORTED:
        raise DataFormatError(
            f"{run_dir} holds {benchmark} results; reports read DDXPlus, RareBench and "
            f"iCraft-MD runs (see its {SUMMARY_FILE})."
        )
    if benchmark == "rarebench":
        rare = _read_summary(_summary_path(run_dir, benchmark), RareBenchSummary)
        return LoadedRun(label=run_dir.name, summary=rare, cases=[], budget=rare.questions_budget)
    if benchmark == "icraftmd":
        return _load_icraftmd(run_dir)
    cases = read_cases(cases_path)
    if summary_path.is_file():
        summary = _read_summary(summary_path, RunSummary)
    else:
        config = _read_config(run_dir / CONFIG_FILE)
        summary = summarize(
            cases,
            skipped=0,
            seconds=sum(c.seconds for c in cases),
            label=run_dir.name,
            questions_budget=config.questions if config else None,
            full_profile=config.full_profile if config else None,
        )
    return LoadedRun(label=run_dir.name, summary=summary, cases=cases, budget=_budget(cases))


def _format(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dict):
        if any(isinstance(inner, dict) for inner in value.values()):
            # figures per group or per number of answers: "5: n 500, top1 0.426, …; 10: …"
            return "; ".join(f"{key}: {_format(inner)}" for key, inner in value.items()) or MISSING
        return ", ".join(f"{key} {_format(inner)}" for key, inner in value.items()) or MISSING
    return str(value)


def summary_rows(runs: Sequence[LoadedRun]) -> list[tuple[str, list[str]]]:
    """(metric, one formatted cell per run), metrics in summary-field order under their
    published names (``gtpa@1`` …); a metric a run lacks (a RareBench run has no ``ddr``, a
    DDXPlus one no ``gtpa@5``) shows as '—'. The ``label`` field names the column instead;
    whether the run is complete comes last.

    Floats show 3 decimals, counts as integers.
    """
    dumps = [run.summary.model_dump(by_alias=True, exclude={"label"}) for run in runs]
    status = list(RunStatus.model_fields)
    metrics = [m for m in dict.fromkeys(n for dump in dumps for n in dump) if m not in status]
    metrics += status
    return [(name, [_format(dump.get(name)) for dump in dumps]) for name in metrics]


def summary_table(runs: Sequence[LoadedRun]) -> Table:
    """Runs side by side: one column per run, one row per metric (see :func:`summary_rows`)."""
    table = Table(title="Benchmark runs")
    table.add_column("metric", style="bold")
    for run in runs:
        table.add_column(run.label, justify="right")
    for name, cells in summary_rows(runs):
        table.add_row(name, *cells)
    return table


def plot_accuracy_curves(runs: Sequence[LoadedRun], out_path: Path) -> Path:
    """Plot GTPA@1 against the number of questions asked, one line per run, to a PNG.

    Shows where extra questions stop paying off. Runs without cases (summary only, or RareBench
    runs) have no curve and are left out; if none has cases there is nothing to draw and
    :class:`MissingDataError` is raised. Uses matplotlib's Agg canvas directly (no pyplot), so
    it needs no display and leaves no global figure state behind.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    drawable = [run for run in runs if run.cases]
    if not drawable:
        raise MissingDataError(
            f"None of the runs ({', '.join(r.label for r in runs) or 'none given'}) has "
            f"{CASES_FILE}; accuracy curves need the per-case results."
        )
    fig = Figure(figsize=(8, 5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for run in drawable:
        curve = accuracy_curve(run.cases, run.budget)
        if getattr(run.summary, "full_profile", False):
            # Nothing is asked with the full profile: a reference level, not a curve.
            ax.axhline(
                curve[0],
                linestyle="--",
                linewidth=1,
                color="grey",
                label=f"{run.label}: full profile (n={len(run.cases)})",
            )
            continue
        ax.plot(
            range(len(curve)),
            curve,
            marker="o",
            markersize=3,
            clip_on=False,  # keep points at 0 and 1 whole on the 0-1 axis
            label=f"{run.label} (n={len(run.cases)})",
        )
    ax.set_title("Top-1 accuracy against questions asked")
    ax.set_xlabel("questions asked")
    ax.set_ylabel("GTPA@1")
    ax.set_ylim(0.0, 1.0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    return write_output_file(out_path, buffer.getvalue(), "accuracy plot")


def write_summary(run_dir: Path, summary: RunStatus) -> Path:
    """Write ``run_dir/summary.json`` with the published key names (``gtpa@1`` …), atomically.

    Atomic so a report read while the benchmark is still running never sees half a file.
    """
    path = run_dir / SUMMARY_FILE
    text = json.dumps(summary.model_dump(by_alias=True), indent=2, allow_nan=False) + "\n"
    atomic_write(path, text.encode("utf-8"))
    return path
