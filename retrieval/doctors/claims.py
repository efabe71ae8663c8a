"""Does a profile piece say the doctor treats a disease? A NegEx-style reading of one sentence.

A sentence embedding cannot tell "treats sarcoidosis" from "refers patients with suspected
sarcoidosis to colleagues", nor "bronchiolitis" from "bronchitis": both pairs score as
paraphrases. So for a criterion about one disease (its ``subject``), a piece counts only when it
*names* the disease — as a whole word or phrase, never inside another name — in a clause that
does not deny it (negation: "does not treat", "no", "except"), pass it on (referral: "refers",
"referred to colleagues") or leave it open (uncertainty: "suspected", "possible", "rule out").
The cue lists follow NegEx (Chapman et al., 2001) and its ConText extension: a cue governs the
words after it up to the end of its clause (pre-cues) or the words before it (post-cues).

:func:`adjust` applies this to a matcher's similarity matrix: a piece that names the disease
only to deny, refer or doubt it scores 0 for that criterion; a piece that does not name it at
all keeps its similarity (a related topic still counts for ranking) but stays below the
threshold at which the criterion is *met*, so no rationale ever quotes it as showing the
disease.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from enum import Enum

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

_PRE_CUES = (
    # negation
    r"no|not|never|without|neither|nor|none|excluding|except|other than|rather than|"
    r"instead of|does not|do not|doesn't|don't|cannot|can't|no longer|"
    # referral
    r"refers?|referring|referred|referrals?|redirects?|forwards?|sends?|hands? over|"
    # uncertainty
    r"suspected|suspicion of|suspect|possible|possibly|probable|presumed|query|"
    r"rule out|ruling out|rules out|"
    # Chinese: not, none, non-, refer, suspected
    r"不|无|非|转诊|疑似|可疑"
)
_POST_CUES = (
    r"referred|referrals?|to colleagues|to other (?:doctors|specialists|centres|centers)|"
    r"elsewhere|not treated|not managed|not seen|excluded|ruled out|转诊"
)
PRE_CUE = re.compile(rf"(?<![\w])(?:{_PRE_CUES})(?![\w])")
POST_CUE = re.compile(rf"(?<![\w])(?:{_POST_CUES})(?![\w])")
CLAUSE_END = re.compile(r"[.;:!?。；！？]|,\s*(?:but|while|whereas)\b|\bbut\b|，")
_CJK = re.compile(r"[\u3400-\u9fff]")
_HEDGE = re.compile(r"^(?:possible|probable|suspected)\s+", re.I)
BELOW_MET = 1e-3
"""How far below the met threshold a piece that does not name the disease is kept."""


class Claim(Enum):
    ASSERTED = "asserted"
    """Names the disease with nothing denying, referring or doubting it."""
    WITHHELD = "withheld"
    """Names it only to deny, refer or doubt it."""
    ABSENT = "absent"
    """Does not name it."""


def name_variants(subject: str) -> list[str]:
    """Lower-case ways a profile names a disease: the name, without parentheses or a hedge
    ("Possible NSTEMI / STEMI" → "nstemi / stemi", "nstemi", "stemi"), and each alternative
    of a "/" list that is an acronym or has several words ("infection" alone is too vague)."""
    plain = re.sub(r"\s*\([^)]*\)", "", subject).strip()
    variants = [subject, plain, _HEDGE.sub("", plain)]
    for part in re.split(r"\s*/\s*", _HEDGE.sub("", plain)):
        if part.isupper() or len(part.split()) >= 2:
            variants.append(part)
    cleaned = [" ".join(v.lower().split()) for v in variants]
    return list(dict.fromkeys(v for v in cleaned if v))


def _spans(text: str, variant: str) -> list[tuple[int, int]]:
    if _CJK.search(variant):
        return [(m.start(), m.end()) for m in re.finditer(re.escape(variant), text)]
    pattern = rf"(?<![\w-]){re.escape(variant)}(?![\w-])"
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


@functools.lru_cache(maxsize=200_000)
def claim(piece: str, subject: str) -> Claim:
    """How ``piece`` speaks of ``subject`` (see :class:`Claim`); cached, as pieces repeat
    across needs."""
    text = " ".join(piece.lower().split())
    spans = [span for variant in name_variants(subject) for span in _spans(text, variant)]
    if not spans:
        return Claim.ABSENT
    return Claim.ASSERTED if any(_asserted(text, s, e) for s, e in spans) else Claim.WITHHELD


def _asserted(text: str, start: int, end: int) -> bool:
    """No cue governs the mention: none between the clause's start and it, none after it to
    the clause's end."""
    before = text[:start]
    boundaries = [m.end() for m in CLAUSE_END.finditer(before)]
    clause_start = boundaries[-1] if boundaries else 0
    after = text[end:]
    stop = CLAUSE_END.search(after)
    clause_rest = after[: stop.start()] if stop else after
    return not PRE_CUE.search(before[clause_start:]) and not POST_CUE.search(clause_rest)


def adjust(
    matrix: Matrix, subjects: Sequence[str], pieces: Sequence[str], threshold: float
) -> Matrix:
    """The (pieces × criteria) similarities with each disease criterion's claims applied:
    withheld → 0, absent → kept below ``threshold``. ``subjects[j]`` is criterion j's disease
    ('' for criteria about no one disease: department, treatment, …)."""
    adjusted = matrix.copy()
    for j, subject in enumerate(subjects):
        if not subject:
            continue
        for i, piece in enumerate(pieces):
            found = claim(piece, subject)
            if found is Claim.WITHHELD:
                adjusted[i, j] = 0.0
            elif found is Claim.ABSENT:
                adjusted[i, j] = min(float(adjusted[i, j]), threshold - BELOW_MET)
    return adjusted
