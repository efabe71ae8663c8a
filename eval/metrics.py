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
==================  ===========================================================  ===============

The per-case scores of a DDXPlus run (urgent recall, the urgent banner, the accuracy curve) and
its summary are in :mod:`eval.ddxplus_summary`.

How condition names are compared is a parameter (``match``): :func:`exact` by default,
:func:`normalised_match` when names come from sources that differ in case or punctuation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from retrieval.fuzzy import name_key

Match = Callable[[str, str], bool]
"""A rule deciding whether a predicted condition name and a reference name are the same."""

DDX_THRESHOLD = 0.01
"""Probability a condition needs to be part of the predicted differential (DDXPlus paper)."""


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
