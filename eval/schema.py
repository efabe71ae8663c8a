"""The files a benchmark run writes, as typed records (one family for every benchmark).

``DIR/run.json`` — what the run is (its ``benchmark`` first); a resumed run must match it.
``DIR/cases.jsonl`` — one case result per finished case, appended as cases finish.
``DIR/failed.json`` — the cases that failed, case id → error; they are retried next run.
``DIR/summary.json`` — the metrics over the finished cases: a :class:`RunStatus` subclass
(:class:`RunSummary` for DDXPlus, ``RareBenchSummary``, ``IcraftSummary``). Top-k accuracy is
``gtpa@k`` in every one of them (MEDDxAgent's name); the older RareBench ``top1``/``top3``/
``top10`` and iCraft-MD ``accuracy`` keys are still read.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from agent.report import FinalReport, TranscriptTurn
from agent.trace import DifferentialSnapshot

CASES_FILE = "cases.jsonl"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "run.json"
FAILED_FILE = "failed.json"


def gtpa_field(k: int, *older_names: str, **options: Any) -> Any:
    """The ``gtpa@k`` field of a summary: written as ``gtpa@k``, read also under the names
    summaries of earlier versions used (``top1`` …), so old run folders still load."""
    names = AliasChoices(f"gtpa@{k}", f"gtpa_{k}", *older_names)
    return Field(alias=f"gtpa@{k}", validation_alias=names, **options)


class RunStatus(BaseModel):
    """Whether a summary covers the whole selection: every benchmark summary starts with it."""

    model_config = ConfigDict(populate_by_name=True)

    incomplete: bool = Field(
        default=False,
        description="Some selected cases failed or were not run: the figures cover the "
        "finished ones only (run the same command again to finish).",
    )
    failed: int = Field(default=0, description="Selected cases that failed (failed.json).")
    not_run: int = Field(
        default=0, description="Selected cases not tried because the run stopped early."
    )


def transcript_of(report: FinalReport) -> list[TranscriptTurn]:
    """The report's questions and answers, as a case result records them."""
    return [
        TranscriptTurn(code=t.code, question=t.question, answer=t.answer, present=t.present)
        for t in report.transcript
    ]


def steps_of(report: FinalReport) -> list[DifferentialSnapshot]:
    """The differential after each answer, as a case result records it."""
    return list(report.history)


class CaseResult(BaseModel):
    """One consultation of the benchmark, as it ran through the graph."""

    model_config = ConfigDict(extra="ignore")

    case_id: str
    pathology: str = Field(description="Ground truth.")
    severity: int = Field(ge=1, le=5, description="Severity of the ground truth (1 = most severe).")
    age: int
    sex: str
    initial_evidence: str
    questions_asked: int
    stop_reason: str
    transcript: list[TranscriptTurn]
    differential: list[tuple[str, float]] = Field(
        description="Final differential, most probable first (probabilities >= 1e-4)."
    )
    truth_rank: int = Field(
        ge=1, description="1-based rank of the truth in the full final ranking."
    )
    steps: list[DifferentialSnapshot]
    reference_differential: list[tuple[str, float]] = Field(
        default_factory=list, description="The dataset's DIFFERENTIAL_DIAGNOSIS."
    )
    urgent_flags: list[str] = Field(default_factory=list)
    differential_list: list[tuple[str, float]] = Field(
        default_factory=list,
        description="The report's differential list (condition, list weight), empty without a "
        "list model.",
    )
    list_weights: list[tuple[str, float]] = Field(
        default_factory=list,
        description="Every condition's list weight >= 0.01 at the end (the list-size / DDF1 "
        "trade-off is computed from these).",
    )
    seconds: float = Field(description="Wall time of this case, in seconds.")


class RunConfig(BaseModel):
    """What defines a run; resuming with a different config is refused."""

    benchmark: str
    patients: str
    patients_sha256: str
    questions: int
    full_profile: bool
    limit: int | None
    seed: int
    confidence_threshold: float
    refinement_rounds: int = Field(default=1, description="The driver's refinement rounds.")
    model: str = Field(description="Likelihood model: 'structural' or the fitted model's path.")
    llm: str = Field(default="kb", description="LLM roles and strategy; 'kb': none (issue 3).")


class RunSummary(RunStatus):
    """Metrics of a DDXPlus run (DDXPlus and MEDDxAgent papers); ``gtpa@k`` keys use aliases."""

    n: int
    skipped: int
    gtpa_1: float = gtpa_field(1)
    gtpa_3: float = gtpa_field(3)
    gtpa_5: float = gtpa_field(5)
    gtpa_10: float = gtpa_field(10)
    avg_rank: float
    ddr: float
    ddp: float
    ddf1: float
    ddr_list: float | None = Field(
        default=None, description="DDR of the differential list (None: no case has one)."
    )
    ddp_list: float | None = None
    ddf1_list: float | None = None
    list_size: float | None = Field(default=None, description="Mean length of the list.")
    avg_questions: float
    ece: float
    urgent_recall_5: float | None = Field(alias="urgent_recall@5")
    urgent_banner_rate: float | None = Field(
        default=None,
        description="Share of cases whose truth is not severe (severity 3-5) that ended with an "
        "urgent banner (a false alarm); None without such cases.",
    )
    urgent_banner_recall: float | None = Field(
        default=None,
        description="Share of severe (1-2) truths that ended flagged urgent themselves.",
    )
    seconds: float
    cases_per_second: float | None = None
    questions_budget: int | None = None
    full_profile: bool | None = None
    label: str | None = None
