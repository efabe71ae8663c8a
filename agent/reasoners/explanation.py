"""What every reasoner's explanation shares: which findings are listed for and against a
condition, what is said when none is, and why a question is asked.

How much a finding moved a condition (its weight) is each reasoner's own — DDXPlus weighs it
against the posterior-weighted rest of the differential, HPO against the background rate of a
term — and so is the statement quoting it; which weights make the list, on which side and in
which order is one rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.roles import ConsultationView, FindingEffect

WEIGHT_CUT = 0.05
"""Findings whose |log LR| is below this barely moved the condition: left out when others did."""
MAX_EFFECTS = 5
"""Findings listed per side (for, against) and condition."""
FALLBACK_EFFECTS = 3
"""When no finding passes the cut, this many of the strongest are shown anyway."""


def for_and_against(
    effects: Sequence[FindingEffect],
) -> tuple[list[FindingEffect], list[FindingEffect]]:
    """The findings for and against, strongest first; when none passes the weight cut, the
    strongest that moved the condition at all, so an explanation is never empty when answers
    moved the differential."""
    listed = [e for e in effects if abs(e.weight) > WEIGHT_CUT]
    if not listed:
        moved = [e for e in effects if e.weight != 0]
        listed = sorted(moved, key=lambda e: abs(e.weight), reverse=True)[:FALLBACK_EFFECTS]
    listed.sort(key=lambda e: e.weight, reverse=True)
    raised = [e for e in listed if e.weight > 0][:MAX_EFFECTS]
    lowered = [e for e in reversed(listed) if e.weight < 0][:MAX_EFFECTS]
    return raised, lowered


def empty_note(view: ConsultationView, name: str, listed: Sequence[FindingEffect]) -> str:
    """Said plainly when no finding is listed for ``name``: why the explanation is empty."""
    if listed:
        return ""
    if not view.findings:
        return "No answers yet."
    if not view.asked:
        return "No answers yet beyond the complaint."
    return f"None of the answers so far tells {name} apart from the rest of the differential."


def question_reason(
    leaders: Sequence[str], rates: Sequence[float], gain: float, common: float, per_side: int
) -> str:
    """Why a question is worth asking, in one sentence: which of the ``leaders`` (most probable
    first) a "yes" favours — those whose ``rates`` of the finding reach ``common`` — and which
    it speaks against, at most ``per_side`` named on each side."""
    favoured = [n for n, r in zip(leaders, rates, strict=True) if r >= common][:per_side]
    against = [n for n, r in zip(leaders, rates, strict=True) if r < common][:per_side]
    if favoured and against:
        split = f"separates {', '.join(favoured)} from {', '.join(against)}"
    elif favoured:
        split = f"tells apart {', '.join(favoured)} by how often it occurs with each"
    else:
        split = f"would argue against {', '.join(against)}"
    return f"It {split} (expected gain {gain:.2f} bits)."
