"""The differential list's size against its F1 (``ddx eval report --frontier PNG``).

For each DDXPlus run whose cases carry list weights, one curve: the differential list at every
inclusion threshold (:func:`eval.ddxplus_tradeoffs.list_frontier`), mean list size on x, DDF1
against the dataset's reference differential on y, the run's own list marked (a star). Beside it,
dashed, the DDXPlus definition: the posterior's conditions above a probability threshold
(:func:`eval.ddxplus_tradeoffs.posterior_frontier`). Matplotlib's Agg canvas, no pyplot state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from agent.errors import MissingDataError
from agent.files import write_output_file
from eval.ddxplus_tradeoffs import list_frontier, posterior_frontier
from eval.report import LoadedRun


def plot_list_frontier(runs: Sequence[LoadedRun], out_path: Path) -> Path:
    """Write the frontier PNG; MissingDataError when no run has list weights."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawable = [run for run in runs if any(case.list_weights for case in run.cases)]
    if not drawable:
        raise MissingDataError(
            "None of the runs has differential-list weights (runs of the fitted model write "
            "them); the frontier needs them."
        )
    fig = Figure(figsize=(8, 5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for run in drawable:
        points = list_frontier(run.cases)
        line = ax.plot(
            [p.size for p in points],
            [p.ddf1 for p in points],
            marker="o",
            markersize=3,
            label=f"{run.label}: differential list",
        )[0]
        size = getattr(run.summary, "list_size", None)
        ddf1 = getattr(run.summary, "ddf1_list", None)
        if size is not None and ddf1 is not None:  # where the run itself sits
            ax.plot(size, ddf1, marker="*", markersize=14, color=line.get_color())
        posterior = posterior_frontier(run.cases)
        ax.plot(
            [p.size for p in posterior],
            [p.ddf1 for p in posterior],
            linestyle="--",
            marker=".",
            color=line.get_color(),
            alpha=0.6,
            label=f"{run.label}: posterior ≥ threshold (DDXPlus)",
        )
    ax.set_title("Differential list: size against DDF1 (star: the run's own list)")
    ax.set_xlabel("conditions listed (mean)")
    ax.set_ylabel("DDF1 against the reference differential")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(left=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    return write_output_file(out_path, buffer.getvalue(), "frontier plot")
