"""LLM agents behind the same role protocols as the embedded engine (agent/roles.py).

``history`` (free-text questions, hybrid hints), ``diagnosis`` (strategies standard, cot,
fewshot-knn, hybrid; restricted to the benchmark's diagnoses by fuzzy name matching),
``free_text`` (the doctor, diagnoser and profile summariser of a free-text consultation such
as iCraft-MD; MEDDxAgent's refinement rounds are the graph driver's), ``intake`` (a first
message into findings), ``retrieval`` (LLM-written queries and summaries), ``context`` (the
consultation context that puts them in the graph). Each step falls back to the embedded engine
when the model's answers never fit their schema.
"""
