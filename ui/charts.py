"""The differential as a horizontal bar chart: a plain Vega-Lite specification.

A dict rather than an Altair chart: Altair validates the whole schema on every render, which
costs tens of milliseconds per answer; this spec is fixed and tested instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TOP = 10
BAR_PX = 26
COLOURS = {"other": "#4c78a8", "urgent": "#d62728"}


def differential_chart(
    differential: Sequence[tuple[str, float]], urgent: Sequence[str], top: int = TOP
) -> dict[str, Any]:
    """The ``top`` most probable conditions, most probable first; urgent ones in red."""
    rows = [
        {"condition": name, "probability": p, "kind": "urgent" if name in urgent else "other"}
        for name, p in differential[:top]
    ]
    return {
        "data": {"values": rows},
        "mark": {"type": "bar", "tooltip": True},
        "height": {"step": BAR_PX},
        "encoding": {
            "y": {
                "field": "condition",
                "type": "nominal",
                "sort": "-x",
                "title": None,
                "axis": {"labelLimit": 260},
            },
            "x": {
                "field": "probability",
                "type": "quantitative",
                "scale": {"domain": [0, 1]},
                "axis": {"format": "%"},
                "title": "probability",
            },
            "color": {
                "field": "kind",
                "type": "nominal",
                "scale": {"domain": list(COLOURS), "range": list(COLOURS.values())},
                "legend": None,
            },
        },
    }
