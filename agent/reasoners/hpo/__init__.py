"""Rare-disease reasoning over the HPO knowledge base: ranking, explanations, questioning."""
