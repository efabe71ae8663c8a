"""Bayesian reasoning over the knowledge base's conditions: posterior, evidence weights, gain.

Findings are assumed conditionally independent given the condition (naive Bayes), with each
gated evidence conditional on its parent; everything is computed in log space over all
conditions at once with NumPy, so one update costs microseconds.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agent.engine.likelihood import SEXES, FloatArray, LikelihoodModel, age_band
from agent.findings import FindingValue, is_present
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase

_TINY = 1e-300
SUPPORT_FLOOR = 1e-9


def entropy(p: FloatArray, axis: int = 0) -> FloatArray:
    """Shannon entropy in bits along ``axis`` (0·log 0 = 0)."""
    safe = np.where(p > 0, p, 1.0)
    return np.asarray(-(p * np.log2(safe)).sum(axis=axis))


class BayesEngine:
    """Holds the model's arrays in log form and answers the engine's three questions.

    * :meth:`posterior` — P(condition | findings, age, sex);
    * :meth:`finding_loglik` — one finding's log-likelihood per condition (its weight);
    * :meth:`expected_gain` — expected information (bits) of asking each candidate evidence.
    """

    def __init__(self, kb: KnowledgeBase, model: LikelihoodModel) -> None:
        n_cond, n_ev = len(kb.condition_names), len(kb.evidence_codes)
        if model.p_present.shape != (n_cond, n_ev):
            raise ValueError("likelihood model does not match the knowledge base")
        self.kb = kb
        self.model = model
        p = np.clip(model.p_present, 1e-9, 1 - 1e-9)
        self.p_present = p
        self.log_yes = np.log(p)
        self.log_no = np.log1p(-p)
        self.log_values = {
            code: np.log(np.clip(probs, 1e-9, 1.0)) for code, probs in model.value_probs.items()
        }
        self.log_values_not = {
            code: np.log1p(-np.clip(probs, 0.0, 1 - 1e-9))
            for code, probs in model.value_probs.items()
            if kb.evidences[code].kind is EvidenceKind.MULTI_CHOICE
        }
        self._informative_values = {
            code: probs
            for code, probs in model.value_probs.items()
            if kb.evidences[code].kind is EvidenceKind.CATEGORICAL
            and np.ptp(probs, axis=0).max() > 1e-6
        }
        """Categorical evidences whose value distribution differs between conditions: each of
        their values is an outcome of its own when valuing the question."""
        self.value_index = {
            code: {v: i for i, v in enumerate(kb.evidences[code].non_default_values)}
            for code in model.value_probs
        }

    # -- likelihoods -------------------------------------------------------------------------

    def finding_loglik(self, code: str, value: FindingValue) -> FloatArray | None:
        """log P(finding | c) for every condition; None when the finding carries nothing."""
        ev = self.kb.evidences[code]
        present = is_present(ev, value)
        if present is None:
            return None
        ei = self.kb.evidence_index[code]
        if not present:
            return np.asarray(self.log_no[:, ei])
        result: FloatArray = self.log_yes[:, ei].copy()
        if ev.kind is EvidenceKind.CATEGORICAL:
            idx = self.value_index[code].get(value)  # type: ignore[arg-type]
            if idx is not None:
                result += self.log_values[code][:, idx]
        elif ev.kind is EvidenceKind.MULTI_CHOICE:
            assert isinstance(value, list)
            chosen = np.zeros(len(self.value_index[code]), dtype=bool)
            for v in value:
                idx = self.value_index[code].get(v)
                if idx is not None:
                    chosen[idx] = True
            result += self.log_values[code][:, chosen].sum(axis=1)
            result += self.log_values_not[code][:, ~chosen].sum(axis=1)
        return result

    def demographic_loglik(self, age: int | None, sex: str | None) -> FloatArray:
        total = np.zeros(len(self.kb.condition_names))
        if sex in SEXES and self.model.log_sex is not None:
            total += self.model.log_sex[:, SEXES.index(sex)]
        if age is not None and self.model.log_age is not None:
            total += self.model.log_age[:, age_band(age)]
        return total

    def log_joint(
        self, findings: Mapping[str, FindingValue], age: int | None, sex: str | None
    ) -> FloatArray:
        total = self.model.log_prior + self.demographic_loglik(age, sex)
        for code, value in findings.items():
            weight = self.finding_loglik(code, value)
            if weight is not None:
                total = total + weight
        return total

    def posterior(
        self, findings: Mapping[str, FindingValue], age: int | None, sex: str | None
    ) -> FloatArray:
        log_joint = self.log_joint(findings, age, sex)
        log_joint = log_joint - log_joint.max()
        weights = np.exp(log_joint)
        return np.asarray(weights / weights.sum())

    # -- question value ----------------------------------------------------------------------

    def expected_gain(self, posterior: FloatArray, codes: list[str]) -> FloatArray:
        """Expected entropy reduction (bits) of asking each evidence in ``codes``.

        Outcomes are present/absent; for a categorical evidence whose value distribution differs
        between conditions (a fitted model), each value is its own outcome. Conditions with a
        negligible posterior (< 1e-9) are left out of the computation: they cannot change it.
        """
        if not codes:
            return np.zeros(0)
        support = posterior > SUPPORT_FLOOR
        mass = posterior[support]
        idx = np.fromiter((self.kb.evidence_index[c] for c in codes), dtype=np.intp)
        p_yes_given_c = self.p_present[np.ix_(support, idx)]  # [K', m]
        joint_yes = mass[:, None] * p_yes_given_c
        joint_no = mass[:, None] - joint_yes
        prior_entropy = float(entropy(mass))
        gains = prior_entropy - _split_entropy(joint_yes) - _split_entropy(joint_no)
        for j, code in enumerate(codes):
            values = self._informative_values.get(code)
            if values is not None:
                joint_values = joint_yes[:, j : j + 1] * values[support]  # [K', V]
                gains[j] = (
                    prior_entropy
                    - _split_entropy(joint_values).sum()
                    - _split_entropy(joint_no[:, j : j + 1]).sum()
                )
        return np.asarray(gains)


def _split_entropy(joint: FloatArray) -> FloatArray:
    """Σ_outcome P(outcome)·H(condition | outcome), one column per outcome (joint is [K, m])."""
    mass = joint.sum(axis=0)
    conditional = joint / np.maximum(mass, _TINY)
    return np.asarray(mass * entropy(conditional, axis=0))
