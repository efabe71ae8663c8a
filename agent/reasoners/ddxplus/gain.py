"""The value of asking a question: its outcomes, and criteria over them.

Every candidate question has outcomes — yes/no, each value of a categorical evidence, or the set
of values a multi-choice answer picks — each with a probability and the posterior it would leave.
A criterion scores the expected posterior:

* ``entropy`` (default) — expected information gain, H(C) − E[H(C | answer)], in bits;
* ``error`` — expected reduction of the error of the top-1 guess, E[max P(c | answer)] − max P(c).

Binary and categorical outcomes are exact. A multi-choice answer has 2^V possible sets (V up to
165 body locations), so its outcomes are sampled: ``SAMPLES_PER_CONDITION`` answers drawn once
per engine from each condition's model with a fixed seed (common random numbers: the same
findings always give the same choice). Conditions with a negligible posterior are left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from agent.reasoners.ddxplus.likelihood import FloatArray
from retrieval.ddxplus_kb import EvidenceKind

if TYPE_CHECKING:
    from agent.reasoners.ddxplus.bayes import BayesEngine, PatientTables

Criterion = Literal["entropy", "error"]
SUPPORT_FLOOR = 1e-6
"""Conditions below this posterior cannot change a question's value noticeably."""
SAMPLES_PER_CONDITION = 8
_TINY = 1e-300


def entropy(p: FloatArray, axis: int = 0) -> FloatArray:
    """Shannon entropy in bits along ``axis`` (0·log 0 = 0)."""
    safe = np.where(p > 0, p, 1.0)
    return np.asarray(-(p * np.log2(safe)).sum(axis=axis))


def _score(weights: FloatArray, posteriors: FloatArray, criterion: Criterion) -> FloatArray:
    """Σ_outcome P(outcome) · f(posterior after it), f = −entropy or the top probability.

    ``weights`` is [outcomes, ...], ``posteriors`` [K', outcomes, ...]; the result is [...].
    """
    values = -entropy(posteriors, axis=0) if criterion == "entropy" else posteriors.max(axis=0)
    return np.asarray((weights * values).sum(axis=0))


def _split(joint: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(P(outcome), P(c | outcome)) from a joint [K', ...] table."""
    mass = joint.sum(axis=0)
    return mass, joint / np.maximum(mass, _TINY)


def expected_gain(
    engine: BayesEngine,
    posterior: FloatArray,
    codes: list[str],
    tables: PatientTables,
    criterion: Criterion = "entropy",
    *,
    multi_choice_values: bool = True,
) -> FloatArray:
    """The criterion's expected improvement for each evidence in ``codes`` (≥ 0 up to noise).

    ``multi_choice_values`` False values a multi-choice question by presence alone (the
    engine's behaviour before the sampled outcomes; kept for comparison).
    """
    if not codes:
        return np.zeros(0)
    support = np.flatnonzero(posterior > SUPPORT_FLOOR)
    mass = posterior[support] / posterior[support].sum()
    baseline = float(_score(np.ones(1), mass[:, None], criterion))
    idx = np.fromiter((engine.kb.evidence_index[c] for c in codes), dtype=np.intp)
    p_yes = tables.p_present[np.ix_(support, idx)]  # [K', m]
    joint_yes = mass[:, None] * p_yes
    joint_no = mass[:, None] - joint_yes
    (w_yes, c_yes), (w_no, c_no) = _split(joint_yes), _split(joint_no)
    yes = _score(w_yes[None], c_yes[:, None], criterion)  # [m]: presence only
    no = _score(w_no[None], c_no[:, None], criterion)
    categorical = [j for j, code in enumerate(codes) if code in engine.categorical_column]
    if categorical:  # each value its own outcome, all categorical candidates at once
        columns = [engine.categorical_column[codes[j]] for j in categorical]
        values = engine.categorical_values[support][:, columns, :]  # [K', c, V] (padded)
        w, c = _split(joint_yes[:, categorical, None] * values)  # [c, V], [K', c, V]
        yes[categorical] = _score(w.T, c.transpose(0, 2, 1), criterion)
    if multi_choice_values:
        for j, code in enumerate(codes):
            if engine.kb.evidences[code].kind is EvidenceKind.MULTI_CHOICE:
                w, c = _sampled_choices(engine, code, support, mass, p_yes[:, j])
                yes[j] = float(_score(w, c, criterion))
    scores = yes + no
    return np.asarray(scores - baseline)


def _sampled_choices(
    engine: BayesEngine, code: str, support: np.ndarray, mass: FloatArray, p_yes: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Sampled 'present' answers of a multi-choice question: (weights, posteriors [K', n]).

    The answers are fixed per condition (common random numbers), so their log-likelihoods under
    every condition are computed once per engine (:meth:`BayesEngine.sampled_answers`); here
    they are only restricted to the candidate conditions and weighed by the posterior.
    """
    loglik = engine.sampled_answers(code)  # [K, M, K]: answer m of condition c, under each c'
    samples = loglik.shape[1]
    within = loglik[support][:, :, support].reshape(-1, len(support))  # [K'·M, K']
    within = within + np.log(np.maximum(mass * p_yes, _TINY))[None, :]
    within -= within.max(axis=1, keepdims=True)
    post = np.exp(within)
    post /= post.sum(axis=1, keepdims=True)
    weights = np.repeat(mass * p_yes, samples) / samples
    return weights, post.T
