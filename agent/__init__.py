"""DDx Agent: the consultation graph, its agents and the command line.

Importing this package must stay cheap: `ddx --help` runs through it, so nothing heavy (langgraph,
numpy, torch) is imported at package level.
"""
