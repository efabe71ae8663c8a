"""The reasoners side by side: ``ddxplus`` (Bayes over DDXPlus), ``hpo`` (rare-disease phenotypes),
``llm`` (LLM agents).
"""
