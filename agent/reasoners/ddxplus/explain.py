"""Explanations a clinician can read: for each leading condition, the answers that support and
weigh against it, each with the absolute frequencies behind it and compared with the runner-up.

A weight alone ("log LR 1.3") tells a clinician little; "fever: present in 92 % of Flu patients
vs 34 % of Pneumonia" is what they check against their own knowledge. The weight (log-likelihood
ratio of the finding for the condition against the posterior-weighted rest of the differential)
still decides which findings are listed, on which side and in which order
(:func:`agent.reasoners.explanation.for_and_against`); the statement carries
the rates P(answer | condition) from the engine's model for the condition and for the condition
it is compared with: the runner-up for the leader, the leader for every other condition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from agent.reasoners.arrays import FloatArray
from agent.reasoners.ddxplus.bayes import BayesEngine
from agent.reasoners.explanation import empty_note, for_and_against
from agent.roles import ConditionExplanation, ConsultationView, FindingEffect, RankedCondition
from retrieval.ddxplus_kb import EvidenceKind
from retrieval.findings import FindingValue, is_present

STRUCTURAL_SOURCE = "structural"
"""``LikelihoodModel.source`` of the model built from the knowledge base alone (no records)."""

Phrase = Callable[[str, FindingValue], str]
"""Words a finding as 'question: answer', e.g. 'Do you have a fever: yes'."""


def answer_rates(engine: BayesEngine, code: str, value: FindingValue) -> FloatArray | None:
    """Per condition, how often the evidence is seen: the rates a statement quotes.

    For a yes/no answer, P(present | c), whichever way it was answered (an absent finding is
    read against how often it is seen); for a categorical value, P(present | c) × P(value | c);
    for a multi-choice answer, P(present | c) × the product of the chosen values' probabilities.
    None when the patient did not know (the finding carries nothing).
    """
    ev = engine.kb.evidences[code]
    present = is_present(ev, value)
    if present is None:
        return None
    rates: FloatArray = np.asarray(engine.p_present[:, engine.kb.evidence_index[code]])
    value_probs = engine.model.value_probs.get(code)
    if not present or value_probs is None or ev.kind is EvidenceKind.BINARY:
        return rates
    index = engine.value_index[code]
    picked = value if isinstance(value, list) else [value]
    chosen = [index[v] for v in picked if isinstance(v, (str, int)) and v in index]
    if not chosen:
        return rates
    return np.asarray(rates * np.prod(value_probs[:, chosen], axis=1))


@dataclass(frozen=True)
class _Answered:
    """One informative finding with what every condition's model says of it."""

    code: str
    finding: str
    answer: str
    """"present", "absent" or "value" (a categorical or multi-choice answer): see rate_clause."""
    loglik: FloatArray
    rates: FloatArray


def explain_differential(
    engine: BayesEngine,
    view: ConsultationView,
    posterior: FloatArray,
    differential: Sequence[RankedCondition],
    phrase: Phrase,
    top_k: int = 5,
) -> list[ConditionExplanation]:
    """For each of the ``top_k`` leading conditions, its supporting and opposing findings with
    their rates against the condition it is compared with, and a note when nothing moved it."""
    kb = engine.kb
    observed = engine.model.source != STRUCTURAL_SOURCE
    tables = engine.tables(view.age, view.sex)
    answered = [
        _Answered(code, phrase(code, value), _answer_kind(engine, code, value), w, r)
        for code, value in view.findings.items()
        if (w := engine.finding_loglik(code, value, view.findings, tables)) is not None
        and (r := answer_rates(engine, code, value)) is not None
    ]
    result = []
    for rank, ranked in enumerate(differential[:top_k]):
        rival = _rival(differential, rank)
        pair = (kb.condition_index[ranked.name], kb.condition_index[rival] if rival else None)
        names = (ranked.name, rival)
        effects = [_effect(a, posterior, pair, names, observed) for a in answered]
        raised, lowered = for_and_against(effects)
        cond = kb.conditions[ranked.name]
        result.append(
            ConditionExplanation(
                name=ranked.name,
                probability=ranked.probability,
                icd10=cond.icd10,
                severity=cond.severity,
                raised_by=raised,
                lowered_by=lowered,
                compared_with=rival,
                note=empty_note(view, ranked.name, raised or lowered),
            )
        )
    return result


def _answer_kind(engine: BayesEngine, code: str, value: FindingValue) -> str:
    ev = engine.kb.evidences[code]
    if not is_present(ev, value):
        return "absent"
    return "present" if ev.kind is EvidenceKind.BINARY else "value"


def _rival(differential: Sequence[RankedCondition], rank: int) -> str:
    """The condition a leading one is compared with: the runner-up for the leader, the leader
    for every other; empty when the differential holds one condition."""
    if rank == 0:
        return differential[1].name if len(differential) > 1 else ""
    return differential[0].name


def _effect(
    answer: _Answered,
    posterior: FloatArray,
    pair: tuple[int, int | None],
    names: tuple[str, str],
    observed: bool,
) -> FindingEffect:
    ci, ri = pair
    weight = log_ratio_against_rest(answer.loglik, posterior, ci)
    this_rate = float(answer.rates[ci])
    other_rate = float(answer.rates[ri]) if ri is not None else None
    rest_rate = _rest_mean(answer.rates, posterior, ci)
    # The runner-up alone does not explain the side the finding is on when the comparison with
    # it points the other way (or nowhere): then the rest of the differential is quoted too.
    with_rest = ri is None or float(answer.loglik[ci] - answer.loglik[ri]) * weight <= 1e-9
    rates = Rates(
        name=names[0],
        rate=this_rate,
        other_name=names[1],
        other=other_rate,
        rest=rest_rate if with_rest else None,
        supports=weight > 0,
        observed=observed,
    )
    clause = rate_clause(answer.answer, rates)
    return FindingEffect(
        code=answer.code,
        statement=f"{answer.finding} — {clause}",
        weight=round(weight, 3),
        finding=answer.finding,
        present=answer.answer != "absent",
        this_rate=round(this_rate, 4),
        other_rate=None if other_rate is None else round(other_rate, 4),
        compared_with=names[1],
        rest_rate=None if rest_rate is None else round(rest_rate, 4),
    )


@dataclass(frozen=True)
class Rates:
    """What one statement quotes: the finding's rate in the condition explained, in the one it
    is compared with (None without one), across the rest of the differential (None unless the
    comparison alone does not explain the side), and which side the finding is on."""

    name: str
    rate: float
    other_name: str
    other: float | None
    rest: float | None
    supports: bool
    observed: bool = True
    """Rates counted on patient records (a fitted model); False for the structural model, whose
    rates are a priori estimates: then they are 'expected', not 'seen'."""


def rate_clause(answer: str, r: Rates) -> str:
    """The rates behind one finding, in words: 'present in 92 % of Flu patients vs 34 % of
    Pneumonia'; for an absent finding listed in support, why: 'seen in only 3 % of Migraine
    patients but 80 % of Flu, so its absence speaks for Migraine'.

    ``answer`` is "present" (yes), "absent" (no, or the default value) or "value" (a
    categorical or multi-choice answer, whose own probability the rates are)."""
    same = r.other is not None and percent(r.rate) == percent(r.other)
    lower = r.other is not None and not same and r.rate < r.other
    only = "only " if lower else ""
    seen = "seen in" if r.observed else "expected in"
    this = f"{only}{percent(r.rate)} of {r.name} patients"
    if r.other is None:
        other = ""
    else:
        joint = "and" if same else "but" if lower and answer == "absent" else "vs"
        other = f" {joint} {percent(r.other)} of {r.other_name}"
    if answer == "present":
        text = f"{'present' if r.observed else 'expected'} in {this}{other}"
    elif answer == "value":
        text = f"this answer {seen} {this}{other}"
    elif r.supports:
        text = f"{seen} {this}{other}"
    else:
        text = f"absent although {seen} {this}{other}"
    if r.rest is not None:
        joint = ", but" if answer == "absent" and r.supports and r.rest > r.rate else ";"
        text += f"{joint} {percent(r.rest)} across the rest of the differential"
    if answer == "absent" and r.supports:
        text += f", so its absence speaks for {r.name}"
    return text


def percent(rate: float) -> str:
    """A rate as a clinician reads it: whole percents, '<1 %' and '>99 %' at the edges."""
    if rate < 0.005:
        return "<1 %"
    if rate > 0.995:
        return ">99 %"
    return f"{rate * 100:.0f} %"


def log_ratio_against_rest(loglik: FloatArray, posterior: FloatArray, ci: int) -> float:
    """log P(f | c) − log P(f | not c), "not c" being the posterior-weighted other conditions."""
    rest = posterior.copy()
    rest[ci] = 0.0
    total = rest.sum()
    if total <= 0:
        return 0.0
    log_rest = float(np.log(np.dot(rest / total, np.exp(loglik))))
    return float(loglik[ci]) - log_rest


def _rest_mean(rates: FloatArray, posterior: FloatArray, ci: int) -> float | None:
    rest = posterior.copy()
    rest[ci] = 0.0
    total = rest.sum()
    return float(np.dot(rest / total, rates)) if total > 0 else None
