"""Doctor ranking (after DrRank): profiles, criteria per need, interchangeable rankers,
rationales, fairness probes, evaluation and a synthetic directory.

Modules, one role each: ``profiles`` (the profile model and directory loader), ``drrank`` (the
DrRank query format; Chinese text is tokenised by the jieba tokenizer of
``retrieval.index.tokenizers``), ``criteria`` (what a good doctor for a need looks like),
``rankers`` (the ranker interface and its implementations), ``rationale`` (the criteria a
doctor meets and the profile text that shows it), ``llm_grader`` (five-level pointwise
grading), ``first_stage`` (the persisted directory index), ``recommend`` (the facade the CLI and
the consultation use), ``evaluation`` (metrics incl. PNR), ``fairness`` (patient-context
probes) and ``synth`` (the synthetic directory).
"""
