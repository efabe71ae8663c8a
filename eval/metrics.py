"""Benchmark metrics: pure functions over finished cases, no I/O.

Definitions follow the papers the benchmark compares against, so numbers stay comparable:

==================  ===========================================================  ===============
metric              definition                                                   source
==================  ===========================================================  ===============
GTPA@k              share of cases whose ground truth ranks in the top k         MEDDxAgent
average rank        mean 1-based rank of the ground truth                        MEDDxAgent
DDR / DDP / DDF1    recall / precision / F1 of the predicted differential        DDXPlus
                    (probability >= 0.01) against the dataset's differential
ECE                 equal-width-bin expected calibration error of the top-1      Guo et al. 2017
DDR/DDP/DDF1 list   the same scores for the report's differential list           this project
                    (every listed condition, no threshold)
urgent recall@k     GTPA@k restricted to severity 1-2 ground truths              this project
banner rate         share of non-severe truths that ended with an urgent flag    this project
==================  ===========================================================  ===============

How condition names are compared is a parameter (``match``): :func:`exact` by default,
:func:`normalised_match` when names come from sources that differ in case or punctuation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypedDict, Unpack

import numpy as np

from eval.schema import CaseResult, RunSummary
from retrieval.fuzzy import name_key

Match = Callable[[str, str], bool]
"""A rule deciding whether a predicted condition name and a reference name are the same."""

DDX_THRESHOLD = 0.01
"""Probability a condition needs to be part of the predicted differential (DDXPlus paper)."""

URGENT_SEVERITY = 2
"""Severities 1 and 2 are the conditions a triage must not miss."""


def exact(predicted: str, reference: str) -> bool:
    """Names match only when identical: the default, since both sides use the dataset's names."""
    return predicted == reference


def normalised_match(predicted: str, reference: str) -> bool:
    """Names match ignoring case, punctuation and whitespace.

    For names from different sources ("Possible NSTEMI / STEMI" vs "possible nstemi/stemi"),
    where an exact comparison would count spelling differences as wrong diagnoses.
    """
    return name_key(predicted) == name_key(reference)


def _check_ranks(ranks: Sequence[int]) -> None:
    if any(r < 1 for r in ranks):
        raise ValueError("ranks are 1-based: every rank must be >= 1")


def gtpa_at_k(ranks: Sequence[int], k: int) -> float:
    """Ground-truth pathology accuracy at k: the share of cases whose truth rank is <= k.

    MEDDxAgent (Rose et al. 2025), GTPA@k. ``ranks`` are 1-based ranks of the ground truth in
    each case's final ranking. No cases gives 0.0, so an empty run reads as "nothing right"
    rather than failing.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if not ranks:
        return 0.0
    _check_ranks(ranks)
    return float(np.mean(np.asarray(ranks) <= k))


def average_rank(ranks: Sequence[int]) -> float:
    """Mean 1-based rank of the ground truth (MEDDxAgent); lower is better, 1.0 is perfect.

    Complements GTPA@k: it still moves when the truth climbs from rank 40 to rank 12. No cases
    gives 0.0 (there is no rank to average).
    """
    if not ranks:
        return 0.0
    _check_ranks(ranks)
    return float(np.mean(ranks))


def _count_matched(predicted: Sequence[str], reference: Sequence[str], match: Match) -> int:
    """Pairs matched one to one, so a predicted name never counts for two reference names.

    Greedy matching is optimal when ``match`` is an equivalence (exact, normalised).
    """
    used = [False] * len(predicted)
    count = 0
    for ref in reference:
        for i, pred in enumerate(predicted):
            if not used[i] and match(pred, ref):
                used[i] = True
                count += 1
                break
    return count


def differential_scores(
    predicted: Sequence[tuple[str, float]],
    reference: Sequence[tuple[str, float]],
    threshold: float = DDX_THRESHOLD,
    match: Match = exact,
) -> tuple[float, float, float]:
    """(DDR, DDP, DDF1) of ONE case, as in the DDXPlus paper (Fansi Tchango et al. 2022).

    The predicted differential is the set of conditions whose probability is >= ``threshold``;
    the reference is every condition of the dataset's DIFFERENTIAL_DIAGNOSIS, whatever its
    probability. With ``m`` the number of predicted conditions matching a reference one:

    - DDR = m / |reference| (0 when the reference is empty),
    - DDP = m / |predicted| (0 when nothing passes the threshold),
    - DDF1 = 2·DDR·DDP / (DDR + DDP), 0 when both are 0.

    A run's DDR, DDP and DDF1 are the means of these per-case values (so the run's DDF1 is the
    mean of per-case F1s, not the F1 of the mean DDR and DDP), as in the paper. Names repeated
    in a list count once.
    """
    pred_names = list(dict.fromkeys(name for name, p in predicted if p >= threshold))
    ref_names = list(dict.fromkeys(name for name, _ in reference))
    matched = _count_matched(pred_names, ref_names, match)
    ddr = matched / len(ref_names) if ref_names else 0.0
    ddp = matched / len(pred_names) if pred_names else 0.0
    ddf1 = 2 * ddr * ddp / (ddr + ddp) if ddr + ddp > 0 else 0.0
    return ddr, ddp, ddf1


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10
) -> float:
    """Expected calibration error of the top-1 probability (Guo et al. 2017).

    Confidences are put into ``n_bins`` equal-width bins [0, 1/M), [1/M, 2/M) ... with the last
    bin closed so that 1.0 falls in it; ECE = Σ_m |B_m|/n · |accuracy(B_m) − confidence(B_m)|.
    It tells whether "80 % sure" means right 80 % of the time, which accuracy alone cannot.
    Empty input gives 0.0.
    """
    if len(confidences) != len(correct):
        raise ValueError(
            f"confidences and correct differ in length ({len(confidences)} vs {len(correct)})"
        )
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if not confidences:
        return 0.0
    conf = np.asarray(confidences, dtype=float)
    if not np.all((conf >= 0.0) & (conf <= 1.0)):
        raise ValueError("confidences must lie in [0, 1]")
    hits = np.asarray(correct, dtype=float)
    # Multiplying (rather than comparing with np.linspace edges) keeps 0.3 in bin 3, not bin 2.
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    conf_sum = np.bincount(bins, weights=conf, minlength=n_bins)
    hit_sum = np.bincount(bins, weights=hits, minlength=n_bins)
    # |B|/n · |acc − conf| = |Σ hits − Σ conf| / n within each bin.
    return float(np.abs(hit_sum - conf_sum).sum() / len(conf))


def urgent_recall_at_k(cases: Sequence[CaseResult], k: int = 5) -> float | None:
    """Among cases whose ground truth has severity 1 or 2, the share ranked in the top k.

    A triage tool's worst failure is dropping a severe condition off the list; overall GTPA
    hides that when severe cases are rare. None when the run has no such case (0.0 would read
    as "missed them all").
    """
    urgent = [c.truth_rank for c in cases if c.severity <= URGENT_SEVERITY]
    if not urgent:
        return None
    return gtpa_at_k(urgent, k)


def urgent_banner_rates(cases: Sequence[CaseResult]) -> tuple[float | None, float | None]:
    """(false-alarm rate, recall) of the urgent banner at the end of the consultation.

    The false-alarm rate is the share of cases whose truth is not severe (severity 3–5) that
    raised any urgent flag; the recall, the share of severe (1–2) truths flagged themselves.
    None when the run has no case of that kind.
    """
    benign = [bool(c.urgent_flags) for c in cases if c.severity > URGENT_SEVERITY]
    severe = [c.pathology in c.urgent_flags for c in cases if c.severity <= URGENT_SEVERITY]
    return (
        float(np.mean(benign)) if benign else None,
        float(np.mean(severe)) if severe else None,
    )


def _top1_after(case: CaseResult, max_questions: int) -> list[str | None]:
    """The case's top-1 condition after q answers, q = 0..max_questions (None: no snapshot yet)."""
    snapshots = sorted(case.steps, key=lambda s: s.questions)
    out: list[str | None] = []
    current: str | None = None
    i = 0
    for q in range(max_questions + 1):
        while i < len(snapshots) and snapshots[i].questions <= q:
            top = snapshots[i].top
            current = top[0][0] if top else None
            i += 1
        out.append(current)
    return out


def accuracy_curve(
    cases: Sequence[CaseResult], max_questions: int, match: Match = exact
) -> list[float]:
    """GTPA@1 after q answers, for q = 0..max_questions: how much each question buys.

    A case's top-1 at q is the first condition of its last snapshot taken after at most q
    answers, so a case that stopped early keeps its final answer for every larger q (it would
    not have changed its mind). A case with no snapshot yet at q counts as wrong. No cases
    gives a curve of zeros.
    """
    if max_questions < 0:
        raise ValueError(f"max_questions must be >= 0, got {max_questions}")
    if not cases:
        return [0.0] * (max_questions + 1)
    hits = np.array(
        [
            [
                top is not None and match(top, case.pathology)
                for top in _top1_after(case, max_questions)
            ]
            for case in cases
        ],
        dtype=float,
    )
    return [float(x) for x in hits.mean(axis=0)]


class SummaryExtras(TypedDict, total=False):
    """The optional, descriptive fields of :class:`RunSummary` a caller may fill in."""

    questions_budget: int | None
    full_profile: bool | None
    label: str | None


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def summarize(
    cases: Sequence[CaseResult],
    skipped: int,
    seconds: float,
    *,
    threshold: float = DDX_THRESHOLD,
    match: Match = exact,
    **extra: Unpack[SummaryExtras],
) -> RunSummary:
    """All metrics of a run, as the :class:`RunSummary` written to summary.json.

    - GTPA@k and average rank from each case's ``truth_rank``;
    - DDR / DDP / DDF1: means of per-case :func:`differential_scores` over the cases that have
      a reference differential (cases without one have nothing to be scored against);
    - ``*_list``: the same for the report's differential list (every listed condition), over
      the cases that have both (None when none has a list);
    - urgent banner rate and recall: :func:`urgent_banner_rates`;
    - ECE of the final top-1 probability, "correct" meaning ``truth_rank == 1``;
    - ``cases_per_second`` = n / seconds, None when ``seconds`` is 0.

    With no cases every metric is 0.0 and ``urgent_recall@5`` is None, so a run killed before
    its first case still gets a summary. ``extra`` fills the optional fields
    (``questions_budget``, ``full_profile``, ``label``).
    """
    unknown = set(extra) - set(SummaryExtras.__annotations__)
    if unknown:
        raise TypeError(f"summarize() got unexpected keyword arguments: {sorted(unknown)}")
    ranks = [c.truth_rank for c in cases]
    scored = [
        differential_scores(c.differential, c.reference_differential, threshold, match)
        for c in cases
        if c.reference_differential
    ]
    listed = [
        differential_scores(c.differential_list, c.reference_differential, 0.0, match)
        for c in cases
        if c.reference_differential and c.differential_list
    ]
    banner_rate, banner_recall = urgent_banner_rates(cases)
    # Clipped: a probability summed from floats can land a hair above 1.
    confidences = [
        min(max(c.differential[0][1], 0.0), 1.0) if c.differential else 0.0 for c in cases
    ]
    n = len(cases)
    return RunSummary(
        n=n,
        skipped=skipped,
        gtpa_1=gtpa_at_k(ranks, 1),
        gtpa_3=gtpa_at_k(ranks, 3),
        gtpa_5=gtpa_at_k(ranks, 5),
        gtpa_10=gtpa_at_k(ranks, 10),
        avg_rank=average_rank(ranks),
        ddr=_mean([s[0] for s in scored]),
        ddp=_mean([s[1] for s in scored]),
        ddf1=_mean([s[2] for s in scored]),
        ddr_list=_mean([s[0] for s in listed]) if listed else None,
        ddp_list=_mean([s[1] for s in listed]) if listed else None,
        ddf1_list=_mean([s[2] for s in listed]) if listed else None,
        list_size=_mean([len(c.differential_list) for c in cases]) if listed else None,
        avg_questions=_mean([c.questions_asked for c in cases]),
        ece=expected_calibration_error(confidences, [r == 1 for r in ranks]),
        urgent_recall_5=urgent_recall_at_k(cases, 5),
        urgent_banner_rate=banner_rate,
        urgent_banner_recall=banner_recall,
        seconds=seconds,
        cases_per_second=n / seconds if seconds > 0 else None,
        **extra,
    )
