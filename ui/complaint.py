"""The presenting complaint, typed freely, turned into candidate starting findings.

The app offers what the chat offers (:mod:`agent.intake.options`): the intake reader's
readings of the whole message, best first ("I have a headache" → pain, where: the head;
"fever since Monday, no cough" → fever yes, cough no), then the yes/no symptom questions that
share words with it, and always a last choice, "none of these", to type the complaint again.
Nothing starts from a guess: the person picks one.
"""

from __future__ import annotations

from pathlib import Path

from agent.intake.options import IntakeOption, intake_options
from retrieval.ddxplus_kb import KnowledgeBase

ComplaintOption = IntakeOption
"""One reading of the complaint, as the app shows it (the intake's option)."""

NONE_OF_THESE = ComplaintOption(
    label="None of these — I'll describe it differently", findings={}, none_of_these=True
)


def complaint_options(
    kb: KnowledgeBase, text: str, *, read_sentences: bool = True, cache_dir: Path | None = None
) -> list[ComplaintOption]:
    """Candidate readings of the complaint, best first, then "none of these"; empty when
    nothing matches.

    ``read_sentences`` adds the intake reader's readings first (the reader loads the sentence
    encoder once per process, on first use, and embeds the knowledge base's texts, kept under
    ``cache_dir`` for the next start).
    """
    read = None
    if read_sentences and text.strip() and text.strip() not in kb.evidences:
        from agent.intake.shared import intake_reader

        read = intake_reader(kb, cache_dir).read(text)
    options = intake_options(kb, text, read)
    return [*options, NONE_OF_THESE] if options else []
