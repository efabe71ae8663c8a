"""The training report: ``<out>/training_report.json`` and the loss curve ``loss_curve.png``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from agent.finetune.dp import DpReport

REPORT_FILE = "training_report.json"
CURVE_FILE = "loss_curve.png"


class TrainingReport(BaseModel):
    base: str
    data: str
    data_sha256: str
    dialogues: int = Field(description="Conversations trained on.")
    skipped_lines: list[str] = Field(default_factory=list)
    recipe: dict[str, Any]
    adapted_modules: list[str] = Field(description="LoRA target modules (after selection).")
    rank: int
    module_scores: dict[str, float] | None = Field(
        default=None, description="Module selection: each candidate's gradient score."
    )
    trainable_parameters: int
    total_parameters: int
    steps: int
    planned_steps: int
    resumed_from_step: int = 0
    seconds: float = Field(description="Training time, summed over resumed runs.")
    tokens: int = Field(description="Tokens fed through the model (padding excluded).")
    tokens_per_second: float
    peak_memory_mb: float = Field(description="Peak resident memory of the process (CPU).")
    first_loss: float | None
    final_loss: float | None
    loss_curve: list[tuple[int, float]]
    heldout_loss_before: float | None = Field(
        default=None, description="--eval-data: loss per assistant token of the base model."
    )
    heldout_loss_after: float | None = Field(default=None, description="... of the tuned one.")
    dp: DpReport | None = None
    device: str


def write_report(out: Path, report: TrainingReport) -> Path:
    path = out / REPORT_FILE
    partial = out / (REPORT_FILE + ".partial")
    partial.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    partial.replace(path)
    plot_loss(report, out / CURVE_FILE)
    return path


def plot_loss(report: TrainingReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    if report.loss_curve:
        steps, losses = zip(*report.loss_curve, strict=True)
        axes.plot(steps, losses, marker="." if len(steps) < 60 else None)
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("loss (assistant tokens)")
    title = f"{report.recipe.get('name', '')} on {Path(report.data).name}"
    if report.dp is not None:
        title += f" (DP, ε = {report.dp.epsilon_spent:.2f})"
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
