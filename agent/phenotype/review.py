"""The review of systems: one multi-choice question over the top-level branches of HPO.

A consultation that opens with a couple of phenotype terms leaves thousands of diseases
plausible, and single-term yes/no questions find the patient's other features slowly. A
clinician asks early which parts of the body are affected; so does the history taker, once,
before its single-term questions. The question's code is *Phenotypic abnormality* (the root of
the branches); its answer is the list of branches ticked. A ticked branch counts as a present
finding answered when asked (no ancestor of it is asked again); an unticked one as a *weak* "no"
(the diagnoser's ``review_sensitivity``): a patient, or a record, may simply not mention an
affected system.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from agent.findings import FindingValue, InvalidAnswerError, parse_yes_no
from retrieval.hpo_kb import PHENOTYPIC_ABNORMALITY, HpoKnowledgeBase

REVIEW_CODE = PHENOTYPIC_ABNORMALITY
REVIEW_TEXT = "Which parts of the body are affected? Pick every one that applies."
_GENERIC_PREFIX = re.compile(r"^abnormality of (the )?", flags=re.I)


def review_branches(kb: HpoKnowledgeBase) -> list[int]:
    """The direct children of *Phenotypic abnormality*, in the ontology's order."""
    if kb.resolve(REVIEW_CODE) is None:
        return []
    return [int(t) for t in kb.children_of(kb.term_index(REVIEW_CODE))]


def branch_label(kb: HpoKnowledgeBase, term: int) -> str:
    """'Abnormality of the eye' → 'Eye': the choice as a person reads it."""
    name = _GENERIC_PREFIX.sub("", kb.term_names[term]).strip()
    return name[:1].upper() + name[1:]


def review_choices(kb: HpoKnowledgeBase) -> list[tuple[str, str]]:
    """(label, HPO id) per branch, as the question offers them (numbered in this order)."""
    return [(branch_label(kb, t), kb.term_ids[t]) for t in review_branches(kb)]


def implied_branches(kb: HpoKnowledgeBase, findings: Mapping[str, FindingValue]) -> set[int]:
    """Branches already known present: ancestors of a term the patient has."""
    reached: set[int] = set()
    for code, value in findings.items():
        current = kb.resolve(code) if value is True else None
        if current is not None:
            reached.update(int(a) for a in kb.ancestors_of(kb.term_index(current)))
    return reached & set(review_branches(kb))


def split_review(
    kb: HpoKnowledgeBase, findings: Mapping[str, FindingValue]
) -> tuple[dict[str, FindingValue], list[int], list[int]]:
    """The findings without the review, and the review's ticked and unticked branches (a
    branch a present term already implies is neither: a person may leave it unticked, having
    said so already). "Don't know" ticks nothing and leaves nothing unticked."""
    rest = {code: value for code, value in findings.items() if code != REVIEW_CODE}
    answer = findings.get(REVIEW_CODE)
    if not isinstance(answer, list):
        return rest, [], []
    chosen = {str(v) for v in answer}
    known = implied_branches(kb, rest)
    branches = review_branches(kb)
    ticked = [t for t in branches if kb.term_ids[t] in chosen]
    unticked = [t for t in branches if kb.term_ids[t] not in chosen and t not in known]
    return rest, ticked, unticked


def expand_findings(
    kb: HpoKnowledgeBase, findings: Mapping[str, FindingValue]
) -> dict[str, FindingValue]:
    """``findings`` with the review's answer replaced by one finding per branch: ticked →
    present, not ticked → absent, except a branch a present term already implies (a person may
    leave it unticked, having said so already). "Don't know" adds nothing."""
    expanded, ticked, unticked = split_review(kb, findings)
    expanded.update({kb.term_ids[t]: True for t in ticked})
    expanded.update({kb.term_ids[t]: False for t in unticked})
    return expanded


def normalize_review(kb: HpoKnowledgeBase, value: object) -> FindingValue:
    """A structured answer: a list of branch ids (empty: none affected) or None."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidAnswerError("Pick the affected parts of the body as a list (or none).")
    known = {kb.term_ids[t] for t in review_branches(kb)}
    unknown = [v for v in value if str(v) not in known]
    if unknown:
        raise InvalidAnswerError(f"Not a choice of this question: {', '.join(map(str, unknown))}.")
    return [str(v) for v in value]


def parse_review(kb: HpoKnowledgeBase, text: str) -> FindingValue:
    """Typed answer: numbers or names of the choices, separated by commas; 'none' or 'no';
    "don't know"."""
    options = review_choices(kb)
    said = text.strip().casefold()
    if said in {"none", "none of these", "nothing"}:
        return []
    tokens = [t.strip() for t in re.split(r"[,;]| and ", said) if t.strip()]
    matches = [_match(options, token) for token in tokens]
    if tokens and all(m is not None for m in matches):
        return list(dict.fromkeys(m for m in matches if m is not None))
    try:
        yes_no = parse_yes_no(text)
    except InvalidAnswerError:
        unknown = next((t for t, m in zip(tokens, matches, strict=True) if m is None), text)
        raise InvalidAnswerError(
            f"{unknown!r} is not one of the choices: give their numbers (1–{len(options)}) "
            "or names, separated by commas, or 'none'."
        ) from None
    if yes_no is None:
        return None
    if not yes_no:  # "no": none of them, as for every multi-choice question
        return []
    raise InvalidAnswerError("Which ones? Give their numbers or names, separated by commas.")


def _match(options: Sequence[tuple[str, str]], token: str) -> str | None:
    if token.isdigit() and 1 <= int(token) <= len(options):
        return options[int(token) - 1][1]
    for label, code in options:
        if token in {label.casefold(), code.casefold()}:
            return code
    prefixed = [code for label, code in options if label.casefold().startswith(token)]
    if len(prefixed) == 1:
        return prefixed[0]
    contained = [code for label, code in options if token in label.casefold()]  # "skeletal"
    return contained[0] if len(contained) == 1 and not prefixed else None


def phrase_review(kb: HpoKnowledgeBase, value: FindingValue) -> str:
    """The answer as a transcript records it."""
    if not isinstance(value, list):
        return "I don't know."
    if not value:
        return "None of these."
    labels = dict((code, label) for label, code in review_choices(kb))
    return "Affected: " + ", ".join(labels.get(str(v), str(v)) for v in value) + "."
