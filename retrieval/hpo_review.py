"""The multi-choice questions about HPO phenotypes: the review of systems, and checklists.

Knowledge (how such a question is coded, phrased, and read back), below the phenotype reasoner
that asks them (``agent.reasoners.hpo``) and the simulated patient that answers them.

A consultation that opens with a couple of phenotype terms leaves thousands of diseases
plausible, and single-term yes/no questions find the patient's other features slowly. A
clinician asks early which parts of the body are affected; so does the history taker, once,
before its other questions. The review's code is *Phenotypic abnormality* (the root of the
branches); its answer is the list of branches ticked.

A **checklist** asks about several features at once ("Which of these does the patient have?"),
as a clinician runs through the signs that would tell the leading diagnoses apart; its code
joins the terms' ids with ``+`` (``HP:0001250+HP:0001252``), so the question, its choices and
any answer can be read back from the code alone.

A ticked choice counts as a present finding answered when asked (no ancestor of it is asked
again); an unticked one as a *weak* "no" (the diagnoser's ``review_sensitivity``): a patient,
or a record, may simply not mention an affected system or a feature.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from retrieval.answers import InvalidAnswerError, parse_yes_no
from retrieval.findings import FindingValue
from retrieval.hpo_kb import PHENOTYPIC_ABNORMALITY, HpoKnowledgeBase

REVIEW_CODE = PHENOTYPIC_ABNORMALITY
REVIEW_TEXT = "Which parts of the body are affected? Pick every one that applies."
CHECKLIST_SEPARATOR = "+"
CHECKLIST_TEXT = "Which of these does the patient have? Pick every one that applies."
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


def checklist_code(kb: HpoKnowledgeBase, terms: Sequence[int]) -> str:
    """The code of a checklist over these terms (two or more)."""
    return CHECKLIST_SEPARATOR.join(kb.term_ids[t] for t in terms)


def checklist_terms(kb: HpoKnowledgeBase, code: str) -> list[int] | None:
    """The terms of a checklist code, in its order; None when ``code`` is not a checklist of
    terms the knowledge base knows."""
    if CHECKLIST_SEPARATOR not in code:
        return None
    resolved = [kb.resolve(part) for part in code.split(CHECKLIST_SEPARATOR)]
    if any(r is None for r in resolved):
        return None
    return [kb.term_index(r) for r in resolved if r is not None]


def is_multi_choice(kb: HpoKnowledgeBase, code: str) -> bool:
    """Whether ``code`` is the review of systems or a checklist."""
    return code == REVIEW_CODE or checklist_terms(kb, code) is not None


def choice_terms(kb: HpoKnowledgeBase, code: str) -> list[int]:
    """The terms a multi-choice question offers (empty for any other code)."""
    if code == REVIEW_CODE:
        return review_branches(kb)
    return checklist_terms(kb, code) or []


def choices_of(kb: HpoKnowledgeBase, code: str) -> list[tuple[str, str]]:
    """(label, HPO id) per choice of a multi-choice question, numbered in this order."""
    if code == REVIEW_CODE:
        return review_choices(kb)
    return [(kb.term_names[t], kb.term_ids[t]) for t in choice_terms(kb, code)]


def question_text(kb: HpoKnowledgeBase, code: str) -> str:
    """The question as the patient reads it (the choices are offered beside it)."""
    if code == REVIEW_CODE:
        return REVIEW_TEXT
    names = ", ".join(label for label, _ in choices_of(kb, code))
    return f"{CHECKLIST_TEXT} ({names})"


def _present_ancestors(kb: HpoKnowledgeBase, findings: Mapping[str, FindingValue]) -> set[int]:
    """Every ancestor-or-self of a term the findings say the patient has."""
    reached: set[int] = set()
    for code, value in findings.items():
        current = kb.resolve(code) if value is True else None
        if current is not None:
            reached.update(int(a) for a in kb.ancestors_of(kb.term_index(current)))
    return reached


def split_review(
    kb: HpoKnowledgeBase, findings: Mapping[str, FindingValue]
) -> tuple[dict[str, FindingValue], list[int], list[int]]:
    """The findings without the multi-choice answers, and the choices ticked and left unticked
    (a choice a present term already implies is neither: a person may leave it unticked,
    having said so already). "Don't know" ticks nothing and leaves nothing unticked."""
    rest = {code: value for code, value in findings.items() if not is_multi_choice(kb, code)}
    known = _present_ancestors(kb, rest)
    ticked: list[int] = []
    unticked: list[int] = []
    for code, answer in findings.items():
        if code in rest or not isinstance(answer, list):
            continue
        chosen = {str(v) for v in answer}
        for term in choice_terms(kb, code):
            if kb.term_ids[term] in chosen:
                ticked.append(term)
            elif term not in known:
                unticked.append(term)
    return rest, ticked, unticked


def expand_findings(
    kb: HpoKnowledgeBase, findings: Mapping[str, FindingValue]
) -> dict[str, FindingValue]:
    """``findings`` with each multi-choice answer replaced by one finding per choice: ticked →
    present, not ticked → absent, except a choice a present term already implies (a person may
    leave it unticked, having said so already). "Don't know" adds nothing."""
    expanded, ticked, unticked = split_review(kb, findings)
    expanded.update({kb.term_ids[t]: False for t in unticked})
    expanded.update({kb.term_ids[t]: True for t in ticked})
    return expanded


def normalize_choices(kb: HpoKnowledgeBase, code: str, value: object) -> FindingValue:
    """A structured answer: a list of the choices' ids (empty: none of them) or None."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidAnswerError("Pick the choices that apply as a list (or none).")
    known = {choice for _, choice in choices_of(kb, code)}
    unknown = [v for v in value if str(v) not in known]
    if unknown:
        raise InvalidAnswerError(f"Not a choice of this question: {', '.join(map(str, unknown))}.")
    return [str(v) for v in value]


def parse_choices(kb: HpoKnowledgeBase, code: str, text: str) -> FindingValue:
    """Typed answer: numbers or names of the choices, separated by commas; 'none' or 'no';
    "don't know"."""
    options = choices_of(kb, code)
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


def phrase_choices(kb: HpoKnowledgeBase, code: str, value: FindingValue) -> str:
    """The answer as a transcript records it."""
    if not isinstance(value, list):
        return "I don't know."
    if not value:
        return "None of these."
    labels = {choice: label for label, choice in choices_of(kb, code)}
    lead = "Affected" if code == REVIEW_CODE else "Has"
    return f"{lead}: " + ", ".join(labels.get(str(v), str(v)) for v in value) + "."
