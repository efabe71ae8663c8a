"""The differential as a horizontal bar chart with its percentages: a plain Vega-Lite
specification. The axis ends at the largest probability (not at 100 %), so the thousands of
rare diseases, each a few percent at most, still show as bars.

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
    differential: Sequence[tuple[str, float]],
    urgent: Sequence[str],
    top: int = TOP,
    label_limit: int = 260,
) -> dict[str, Any]:
    """The ``top`` most probable conditions, most probable first; urgent ones in red."""
    rows = [
        {
            "rank": rank,
            "condition": name,
            "probability": p,
            "kind": "urgent" if name in urgent else "other",
        }
        for rank, (name, p) in enumerate(differential[:top], start=1)
    ]
    bars = {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "color": {
                "field": "kind",
                "type": "nominal",
                "scale": {"domain": list(COLOURS), "range": list(COLOURS.values())},
                "legend": None,
            },
        },
    }
    labels = {
        "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 11},
        "encoding": {"text": {"field": "probability", "type": "quantitative", "format": ".1%"}},
    }
    return {
        "data": {"values": rows},
        "height": {"step": BAR_PX},
        "encoding": {
            "y": {
                "field": "condition",
                "type": "nominal",
                # The rows' order (most probable first). A layered chart unions its layers'
                # domains, which keeps a sort by field only with the min/max/count op.
                "sort": {"field": "rank", "op": "min", "order": "ascending"},
                "title": None,
                "axis": {"labelLimit": label_limit},
            },
            "x": {
                "field": "probability",
                "type": "quantitative",
                "scale": {"domainMin": 0, "nice": True},
                "axis": {"format": "%"},
                "title": "probability",
            },
        },
        "layer": [bars, labels],
    }
