"""Bayesian reasoning over the knowledge base's conditions: posterior and evidence weights.

Findings are assumed conditionally independent given the condition (naive Bayes), with each
gated evidence conditional on its parent: a child finding counts only when its parent is known
present (a "no radiation" answer says nothing about a patient without pain), and a child found
present implies its parent. Everything is computed in log space over all conditions at once with
NumPy, so one update costs microseconds.

Age and sex enter twice: as P(age band | c) and P(sex | c), and through the evidences the model
says never occur in the patient's sex or age band (:mod:`agent.reasoners.ddxplus.demographics`):
those are
not findings for this patient, and an evidence restricted to some strata is proportionally more
frequent inside them (P(e | c) / P(allowed strata | c)).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from agent.reasoners.arrays import FloatArray
from agent.reasoners.ddxplus.gain import Criterion, QuestionOutcomes, expected_gain
from agent.reasoners.ddxplus.likelihood import (
    SEXES,
    LikelihoodModel,
    PatientTables,
    age_band,
)
from agent.reasoners.posterior import softmax
from retrieval.ddxplus_kb import EvidenceKind, KnowledgeBase
from retrieval.findings import FindingValue, is_present

CEILING = 1 - 1e-9


class BayesEngine:
    """Holds the model's arrays in log form and answers the engine's questions.

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
        self.p_present = np.clip(model.p_present, 1e-9, CEILING)
        self.value_probs = {
            code: np.clip(probs, 1e-9, CEILING) for code, probs in model.value_probs.items()
        }
        self.log_values = {code: np.log(probs) for code, probs in self.value_probs.items()}
        self.log_values_not = {
            code: np.log1p(-probs)
            for code, probs in self.value_probs.items()
            if kb.evidences[code].kind is EvidenceKind.MULTI_CHOICE
        }
        self.value_index = {
            code: {v: i for i, v in enumerate(kb.evidences[code].non_default_values)}
            for code in model.value_probs
        }
        self.parent_index = np.array(
            [
                -1 if ev.parent is None else kb.evidence_index[ev.parent]
                for ev in kb.evidences.values()
            ]
        )
        self._tables = lru_cache(maxsize=None)(self._build_tables)
        self.outcomes = QuestionOutcomes(kb, self.value_probs, self.log_values, self.log_values_not)
        """What the value of a question is computed from (:mod:`agent.reasoners.ddxplus.gain`)."""

    # -- per-patient tables -------------------------------------------------------------------

    def tables(self, age: int | None, sex: str | None) -> PatientTables:
        band = age_band(age) if age is not None else None
        return self._tables(sex if sex in SEXES else None, band)

    def _build_tables(self, sex: str | None, band: int | None) -> PatientTables:
        p = self.p_present.copy()
        possible = np.ones(p.shape[1], dtype=bool)
        m = self.model
        for allowed, log_share, index in (
            (m.allowed_sex, m.log_sex, SEXES.index(sex) if sex is not None else None),
            (m.allowed_age, m.log_age, band),
        ):
            if allowed is None or log_share is None or index is None:
                continue
            restricted = np.flatnonzero(~allowed.all(axis=1))
            possible[restricted] &= allowed[restricted, index]
            for ei in restricted:
                if allowed[ei, index]:
                    share = np.exp(log_share[:, allowed[ei]]).sum(axis=1)
                    p[:, ei] = np.minimum(p[:, ei] / np.maximum(share, 1e-9), CEILING)
        return PatientTables(p, np.log(p), np.log1p(-p), possible)

    # -- likelihoods -------------------------------------------------------------------------

    def finding_loglik(
        self,
        code: str,
        value: FindingValue,
        findings: Mapping[str, FindingValue] | None = None,
        tables: PatientTables | None = None,
    ) -> FloatArray | None:
        """log P(finding | c) for every condition; None when the finding carries nothing.

        With ``findings`` (everything known), a child question counts only under a present
        parent, and a present child whose parent is unknown also counts the parent's "yes".
        """
        ev = self.kb.evidences[code]
        present = is_present(ev, value)
        t = tables or self.tables(None, None)
        ei = self.kb.evidence_index[code]
        if present is None or not t.possible[ei]:
            return None
        parent_yes = self._parent_term(code, present, findings, t)
        if parent_yes is None:
            return None
        if not present:
            return np.asarray(t.log_no[:, ei])
        result: FloatArray = t.log_yes[:, ei] + parent_yes
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

    def _parent_term(
        self,
        code: str,
        present: bool,
        findings: Mapping[str, FindingValue] | None,
        tables: PatientTables,
    ) -> FloatArray | float | None:
        """What a finding of ``code`` adds for its parent question: None when it carries
        nothing (the parent is known absent, or unknown and the child absent), the parent's
        log "yes" when a present child implies an unknown parent, else 0 (also without
        ``findings``: the finding weighed alone)."""
        ev = self.kb.evidences[code]
        if ev.parent is None or findings is None:
            return 0.0
        parent_value = findings.get(ev.parent)
        if parent_value is None:
            if not present:
                return None
            return tables.log_yes[:, self.parent_index[self.kb.evidence_index[code]]]
        return 0.0 if is_present(self.kb.evidences[ev.parent], parent_value) else None

    def region_loglik(
        self,
        code: str,
        values: Sequence[str],
        findings: Mapping[str, FindingValue],
        tables: PatientTables | None = None,
    ) -> FloatArray | None:
        """log P(the multi-choice evidence is present with at least one of ``values`` | c).

        What a person says naming a region ("my chest hurts": one or more of upper chest, lower
        chest, breasts, sides) rather than the places themselves; scoring each place as observed
        would favour the conditions that list all of them. Under the engine's model of values
        (each chosen independently given c) the chance of at least one is 1 − Π(1 − P(v | c)).
        None when the evidence cannot occur for this patient or its parent is known absent.
        """
        ev = self.kb.evidences[code]
        t = tables or self.tables(None, None)
        ei = self.kb.evidence_index[code]
        if ev.kind is not EvidenceKind.MULTI_CHOICE or not t.possible[ei]:
            return None
        parent_yes = self._parent_term(code, True, findings, t)
        if parent_yes is None:
            return None
        result: FloatArray = t.log_yes[:, ei] + parent_yes
        index = [self.value_index[code][v] for v in values if v in self.value_index[code]]
        if index:
            none_of_them = self.log_values_not[code][:, index].sum(axis=1)
            result += np.log(np.maximum(-np.expm1(none_of_them), 1e-300))
        return result

    def demographic_loglik(self, age: int | None, sex: str | None) -> FloatArray:
        total = np.zeros(len(self.kb.condition_names))
        if sex in SEXES and self.model.log_sex is not None:
            total += self.model.log_sex[:, SEXES.index(sex)]
        if age is not None and self.model.log_age is not None:
            total += self.model.log_age[:, age_band(age)]
        return total

    def log_joint(
        self,
        findings: Mapping[str, FindingValue],
        age: int | None,
        sex: str | None,
        regions: Mapping[str, Sequence[str]] | None = None,
    ) -> FloatArray:
        """log P(c, findings, regions, age, sex) up to a constant; ``regions``: evidences known
        only as "one or more of these values" (:meth:`region_loglik`), not yet asked."""
        tables = self.tables(age, sex)
        total = self.model.log_prior + self.demographic_loglik(age, sex)
        for code, value in findings.items():
            weight = self.finding_loglik(code, value, findings, tables)
            if weight is not None:
                total = total + weight
        for code, values in (regions or {}).items():
            if code not in findings:
                weight = self.region_loglik(code, values, findings, tables)
                if weight is not None:
                    total = total + weight
        return total

    def posterior(
        self,
        findings: Mapping[str, FindingValue],
        age: int | None,
        sex: str | None,
        regions: Mapping[str, Sequence[str]] | None = None,
    ) -> FloatArray:
        return softmax(self.log_joint(findings, age, sex, regions))

    # -- question value ----------------------------------------------------------------------

    def expected_gain(
        self,
        posterior: FloatArray,
        codes: list[str],
        tables: PatientTables | None = None,
        criterion: Criterion = "entropy",
    ) -> FloatArray:
        """Expected entropy reduction (bits) of asking each evidence in ``codes``, or another
        ``criterion`` (:func:`agent.reasoners.ddxplus.gain.expected_gain`)."""
        return expected_gain(
            self.outcomes, posterior, codes, tables or self.tables(None, None), criterion
        )
