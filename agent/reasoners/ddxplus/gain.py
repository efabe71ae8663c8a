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

import zlib
from collections.abc import Mapping
from typing import Literal

import numpy as np

from agent.reasoners.arrays import FloatArray, IndexArray
from agent.reasoners.ddxplus.likelihood import PatientTables
from agent.reasoners.posterior import entropy_bits
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase

Criterion = Literal["entropy", "error"]
SUPPORT_FLOOR = 1e-6
"""Conditions below this posterior cannot change a question's value noticeably."""
SAMPLES_PER_CONDITION = 8
_TINY = 1e-300


class QuestionOutcomes:
    """What the outcomes of every question are computed from, besides the posterior: built
    once per engine from its value model: ``value_probs`` P(value | c, present) (clipped off 0
    and 1), their logs, and for multi-choice values the logs of 1 − P.

    * every categorical question's values side by side, so their gains come at once;
    * ``SAMPLES_PER_CONDITION`` 'present' answers of each multi-choice question drawn from
      each condition's value model (fixed seed per evidence), with their log-likelihoods.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        value_probs: Mapping[str, FloatArray],
        log_values: Mapping[str, FloatArray],
        log_values_not: Mapping[str, FloatArray],
    ) -> None:
        self.kb = kb
        self.value_probs = value_probs
        self.log_values = log_values
        self.log_values_not = log_values_not
        categorical = [c for c, ev in kb.evidences.items() if ev.kind is EvidenceKind.CATEGORICAL]
        self.categorical_column = {code: i for i, code in enumerate(categorical)}
        widest = max((value_probs[c].shape[1] for c in categorical), default=0)
        self.categorical_values = np.zeros((len(kb.condition_names), len(categorical), widest))
        """[K, categorical evidences, values] P(value | c, present), zero-padded."""
        for i, code in enumerate(categorical):
            self.categorical_values[:, i, : value_probs[code].shape[1]] = value_probs[code]
        self._sampled: dict[str, FloatArray] = {}

    def sampled_answers(self, code: str) -> FloatArray:
        """[K, M, K]: log P(answer | c') of the sampled 'present' answers of each condition c,
        for every c' (computed once per evidence)."""
        table = self._sampled.get(code)
        if table is None:
            rng = np.random.default_rng(zlib.crc32(code.encode()))
            q = self.value_probs[code]  # [K, V]
            n_cond = q.shape[0]
            chosen = rng.random((n_cond, SAMPLES_PER_CONDITION, q.shape[1])) < q[:, None, :]
            log_ratio = self.log_values[code] - self.log_values_not[code]  # [K, V]
            flat = chosen.reshape(-1, q.shape[1]).astype(float) @ log_ratio.T
            flat += self.log_values_not[code].sum(axis=1)[None, :]
            table = self._sampled[code] = flat.reshape(n_cond, SAMPLES_PER_CONDITION, n_cond)
        return table


def _score(weights: FloatArray, posteriors: FloatArray, criterion: Criterion) -> FloatArray:
    """Σ_outcome P(outcome) · f(posterior after it), f = −entropy or the top probability.

    ``weights`` is [outcomes, ...], ``posteriors`` [K', outcomes, ...]; the result is [...].
    """
    values = -entropy_bits(posteriors, axis=0) if criterion == "entropy" else posteriors.max(axis=0)
    return np.asarray((weights * values).sum(axis=0))


def _split(joint: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(P(outcome), P(c | outcome)) from a joint [K', ...] table."""
    mass = joint.sum(axis=0)
    return mass, joint / np.maximum(mass, _TINY)


def expected_gain(
    outcomes: QuestionOutcomes,
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
    idx = np.fromiter((outcomes.kb.evidence_index[c] for c in codes), dtype=np.intp)
    p_yes = tables.p_present[np.ix_(support, idx)]  # [K', m]
    joint_yes = mass[:, None] * p_yes
    joint_no = mass[:, None] - joint_yes
    (w_yes, c_yes), (w_no, c_no) = _split(joint_yes), _split(joint_no)
    yes = _score(w_yes[None], c_yes[:, None], criterion)  # [m]: presence only
    no = _score(w_no[None], c_no[:, None], criterion)
    categorical = [j for j, code in enumerate(codes) if code in outcomes.categorical_column]
    if categorical:  # each value its own outcome, all categorical candidates at once
        columns = [outcomes.categorical_column[codes[j]] for j in categorical]
        values = outcomes.categorical_values[support][:, columns, :]  # [K', c, V] (padded)
        w, c = _split(joint_yes[:, categorical, None] * values)  # [c, V], [K', c, V]
        yes[categorical] = _score(w.T, c.transpose(0, 2, 1), criterion)
    if multi_choice_values:
        for j, code in enumerate(codes):
            if outcomes.kb.evidences[code].kind is EvidenceKind.MULTI_CHOICE:
                w, c = _sampled_choices(outcomes, code, support, mass, p_yes[:, j])
                yes[j] = float(_score(w, c, criterion))
    scores = yes + no
    return np.asarray(scores - baseline)


def _sampled_choices(
    outcomes: QuestionOutcomes, code: str, support: IndexArray, mass: FloatArray, p_yes: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Sampled 'present' answers of a multi-choice question: (weights, posteriors [K', n]).

    The answers are fixed per condition (common random numbers), so their log-likelihoods under
    every condition are computed once per engine (:meth:`QuestionOutcomes.sampled_answers`); here
    they are only restricted to the candidate conditions and weighed by the posterior.
    """
    loglik = outcomes.sampled_answers(code)  # [K, M, K]: answer m of condition c, under each c'
    samples = loglik.shape[1]
    within = loglik[support][:, :, support].reshape(-1, len(support))  # [K'·M, K']
    within = within + np.log(np.maximum(mass * p_yes, _TINY))[None, :]
    within -= within.max(axis=1, keepdims=True)
    post = np.exp(within)
    post /= post.sum(axis=1, keepdims=True)
    weights = np.repeat(mass * p_yes, samples) / samples
    return weights, post.T
