"""Yes, no or "don't know" in what a person says: a typed answer, or the opening of a reply.

One vocabulary and one reading serve everyone who asks a yes/no question — the CLI and the app
(a typed answer: the whole of it must be a yes, a no or a don't-know), and the LLM patient (a
reply in words: "Yes, I do." or "No, never had it" opens with the answer). A reply is read
as its opening words, longest first, so "I do not" is a no before "I do" is a yes.
"""

from __future__ import annotations

import re

from agent.errors import DdxError

YES = frozenset(
    {"y", "yes", "yeah", "yep", "true", "1", "oui", "correct", "i do", "i have", "sure"}
    | {"i am", "i did"}
)
NO = frozenset(
    {"n", "no", "nope", "false", "0", "non", "none", "not really", "never", "i don't", "i do not"}
    | {"not", "i haven't", "i have not", "i'm not", "i am not"}
)
UNKNOWN = frozenset(
    {
        "?",
        "dk",
        "idk",
        "don't know",
        "dont know",
        "do not know",
        "not sure",
        "unknown",
        "unsure",
        "i don't know",
        "i dont know",
        "skip",
    }
)
_UNSURE_IN_A_REPLY = re.compile(
    r"\b(don't know|do not know|not sure|unsure|no idea|can't say|cannot say|not certain)\b"
)
_OPENING_WORDS = 3
"""The longest yes or no phrase, in words ("i do not")."""


class InvalidAnswerError(DdxError):
    """An answer that does not fit the question (a typo, a value the question does not have)."""


def normalise_answer(text: str) -> str:
    """Lower case, typographic apostrophes straightened, trailing stops and spaces dropped."""
    return re.sub(r"[\s.!]+$", "", text.strip().lower().replace("’", "'"))


def parse_yes_no(text: str) -> bool | None:
    """A typed yes / no / don't-know answer (None: don't know); InvalidAnswerError otherwise."""
    said = normalise_answer(text)
    if said in UNKNOWN:
        return None
    if said in YES:
        return True
    if said in NO:
        return False
    raise InvalidAnswerError("Please answer yes, no, or don't know.")


def read_yes_no(reply: str) -> bool | None:
    """A reply in words as yes (True), no (False) or not known (None): any sign of doubt is not
    known, else the whole reply, its first clause or its first words as a typed answer (the
    longest that is one); a reply that says neither is not known."""
    said = normalise_answer(reply)
    if _UNSURE_IN_A_REPLY.search(said):
        return None
    first_clause = re.split(r"[,;:.!?]", re.sub(r"^[^\w?]+", "", said), maxsplit=1)[0]
    words = re.findall(r"[\w']+", first_clause)
    openings = [said, first_clause.strip()]
    openings += [" ".join(words[:n]) for n in range(min(len(words), _OPENING_WORDS), 0, -1)]
    for opening in openings:
        try:
            return parse_yes_no(opening)
        except InvalidAnswerError:
            continue
    return None
