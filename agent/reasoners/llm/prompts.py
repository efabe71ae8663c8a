"""Prompt texts of the LLM roles, as constants (callers format them; nothing runs at import)."""

from __future__ import annotations

DOCTOR_SYSTEM = (
    "You are an experienced physician taking a patient's history to reach a differential "
    "diagnosis. Ask one short, plain-language question at a time about a single symptom, "
    "sign or history item the patient can answer. Do not repeat a question already asked. "
    "Stop when further questions would not change the differential."
)

DOCTOR_TURN = """Patient: {patient}

What is known so far:
{known}
{previous}{evidence}{hints}
Questions left in the budget: {left}.
Choose the next step."""

HINTS_BLOCK = """
The diagnostic engine suggests these questions (most informative first):
{hints}
Answer with action 'defer' to ask suggestion 1 as it is, 'ask' to ask your own question, or
'stop'.
"""

DIAGNOSER_SYSTEM = (
    "You are an expert diagnostician. From the patient's findings, give a ranked differential "
    "diagnosis, most likely first, with a short reason for each and a rationale for the "
    "clinician."
)

DIAGNOSER_TURN = """Patient: {patient}

Findings:
{known}
{previous}{engine}{examples}{evidence}
{candidates}{strategy}"""

CANDIDATES_BLOCK = (
    "Choose only among these diagnoses (use the names exactly as written):\n{names}\n"
)
OPEN_BLOCK = "Name up to {k} diagnoses, most likely first.\n"

STRATEGY_TEXT = {
    "standard": "",
    "cot": "Think step by step in 'reasoning' before ranking: which findings point where.\n",
    "fewshot-knn": "Use the solved cases above as worked examples.\n",
    "hybrid": (
        "Weigh the engine's posterior above; set keep_engine_ranking to true if you agree "
        "with its ranking, otherwise give your own.\n"
    ),
}

ENGINE_BLOCK = "\nThe Bayesian engine's posterior (top {k}):\n{ranking}\n"
PREVIOUS_BLOCK = "\nYour previous differential: {ranking}\n"
EXAMPLES_BLOCK = "\nSolved cases similar to this one:\n{examples}\n"
EVIDENCE_BLOCK = "\nRelevant medical knowledge:\n{summary}\n"

INTAKE_SYSTEM = (
    "Extract every symptom, sign or history item a patient's message states, one short item "
    "each, marking denied ones ('no cough', 'denies fever') as not present."
)

QUERY_SYSTEM = (
    "You write search queries for a medical knowledge base: short queries whose answers would "
    "separate the leading candidate diagnoses of this patient."
)
QUERY_TURN = "Patient findings:\n{known}\n\nLeading candidates: {leaders}\nWrite the queries."

SUMMARY_SYSTEM = (
    "Summarise the passages below in a few sentences: only the facts that help tell the "
    "candidate diagnoses apart. Do not invent anything."
)
SUMMARY_TURN = "Candidates: {leaders}\n\nPassages:\n{passages}"

JUDGE_SYSTEM = (
    "You judge answers of a diagnosis benchmark: say whether the predicted diagnosis names "
    "the same disease as the reference (synonyms and more specific forms count; related but "
    "different diseases do not)."
)
JUDGE_TURN = "Reference: {reference}\nPredicted: {predicted}"

PROFILE_SYSTEM = (
    "Rewrite the patient's working profile: a concise clinical summary of everything learned "
    "so far (present and absent findings), no diagnosis."
)
PROFILE_TURN = "Current profile:\n{profile}\n\nNew conversation:\n{transcript}"
