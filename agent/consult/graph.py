"""The consultation graph: intake → driver → ask / retrieve / diagnose / refine → finish.

The wiring only: the steps are :mod:`agent.consult.nodes`' and :mod:`agent.consult.driver`'s
(the driver decides each next step by :mod:`agent.consult.policy`'s rules), the diagnosis
step :mod:`agent.consult.diagnosis`'. ``builder`` is exported so tests compile their own copy
with an in-memory checkpointer; :func:`compile_graph` is what front ends and
``agent.consult.session`` use.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from agent.consult.diagnosis import diagnose
from agent.consult.driver import driver, refine
from agent.consult.nodes import ask, finish, intake, retrieve
from agent.context import ConsultContext
from agent.state import ConsultState, InputState, OutputState, consultation_checkpointer

ConsultGraph = CompiledStateGraph[ConsultState, ConsultContext, InputState, OutputState]

builder = StateGraph(
    ConsultState, context_schema=ConsultContext, input_schema=InputState, output_schema=OutputState
)
builder.add_node("intake", intake)
builder.add_node("driver", driver)
builder.add_node("ask", ask)
builder.add_node("diagnose", diagnose)
builder.add_node("retrieve", retrieve)
builder.add_node("refine", refine)
builder.add_node("finish", finish)
builder.add_edge(START, "intake")
builder.add_edge("diagnose", "driver")
builder.add_edge("retrieve", "driver")
builder.add_edge("finish", END)


def compile_graph(checkpointer: BaseCheckpointSaver[Any] | None) -> ConsultGraph:
    """The graph every front end runs (CLI chat, UI, batch harness)."""
    if checkpointer is not None:
        checkpointer = consultation_checkpointer(checkpointer)
    return builder.compile(checkpointer=checkpointer)
