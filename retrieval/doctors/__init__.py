"""Doctor ranking (after DrRank): profiles, criteria per need, interchangeable rankers,
rationales and a synthetic directory.

Modules, one role each: ``profiles`` (the profile model and directory loader), ``drrank`` (the
DrRank query format; Chinese text is tokenised by the jieba tokenizer of
``retrieval.index.tokenizers``), ``criteria`` (what a good doctor for a need looks like: the
models, the provider interface, the need's own words, the cache), ``kb_criteria`` (criteria
from the DDXPlus knowledge base), ``written_criteria`` (LLM-written and DrRank-file criteria),
``rankers`` (the ranker interface, its implementations and ``RankedDoctor``, also the report's
doctor entry), ``rationale`` (the criteria a doctor meets and the profile text that shows it),
``claims`` (whether a piece really claims a disease), ``llm_grader`` (five-level pointwise
grading), ``first_stage`` (the persisted directory index), ``recommend`` (the facade the CLI,
the app and the consultation use; ``agent.doctors`` puts it in a consultation), ``audit``
(evidence and recall checks) and ``synth`` (the synthetic directory). Evaluating rankers is
the harness's: ``eval.doctor_ranking`` (metrics incl. PNR) and ``eval.doctor_fairness``
(patient-context probes).

Only ground is imported from ``agent`` (errors, settings, LLM clients): the package is
knowledge, below the consultation core.
"""
