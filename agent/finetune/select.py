"""Gradient-based module selection (in the spirit of DiffoRA): adapt only the modules whose
gradients matter most for the task, at plain LoRA's parameter budget.

DiffoRA learns a differentiable mask over modules; this is its cheap first-order counterpart.
On a few calibration batches of the training data, the gradient G of the loss with respect to
each candidate weight matrix is accumulated. A rank-r update ΔW with ‖ΔW‖₂ ≤ 1 can lower the
loss to first order by at most the sum of G's r largest singular values, so that sum scores the
module. The top ``select_fraction`` of the candidates are adapted, with the rank raised so the
adapter keeps (about) the parameter count plain LoRA would have had on every candidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.errors import SettingsError


@dataclass(frozen=True)
class Selection:
    modules: list[str]
    rank: int
    scores: dict[str, float]
    plain_parameters: int
    """LoRA parameters of plain LoRA (the recipe's rank on every candidate): the budget."""
    selected_parameters: int


def candidate_modules(model: Any, targets: Sequence[str]) -> dict[str, Any]:
    """Linear layers whose name ends with one of ``targets`` (``all-linear``: all but the
    output layer), by their full name."""
    import torch

    found = {}
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or name.endswith("lm_head"):
            continue
        if list(targets) == ["all-linear"] or any(name.split(".")[-1] == t for t in targets):
            found[name] = module
    if not found:
        raise SettingsError(f"No linear layer of the model matches {list(targets)}.")
    return found


def _lora_size(module: Any, rank: int) -> int:
    return int(rank * (module.in_features + module.out_features))


def select_modules(
    model: Any,
    targets: Sequence[str],
    rank: int,
    fraction: float,
    batches: Sequence[dict[str, Any]],
    batch_loss: Any,
) -> Selection:
    """Score the candidates on ``batches`` (``batch_loss(model, batch)`` → scalar loss) and keep
    the best ``fraction`` of them at the rank that matches plain LoRA's budget."""
    import torch

    candidates = candidate_modules(model, targets)
    saved = {name: p.requires_grad for name, p in model.named_parameters()}
    for p in model.parameters():
        p.requires_grad_(False)
    for module in candidates.values():
        module.weight.requires_grad_(True)
        module.weight.grad = None
    try:
        for batch in batches:
            batch_loss(model, batch).backward()
        scores = {
            name: float(torch.linalg.svdvals(module.weight.grad.float())[:rank].sum())
            for name, module in candidates.items()
        }
    finally:
        for name, p in model.named_parameters():
            p.grad = None
            p.requires_grad_(saved[name])
    keep = max(1, round(fraction * len(candidates)))
    chosen = sorted(candidates, key=lambda n: scores[n], reverse=True)[:keep]
    budget = sum(_lora_size(m, rank) for m in candidates.values())
    width = sum(_lora_size(candidates[n], 1) for n in chosen)
    new_rank = max(1, round(budget / width))
    return Selection(
        modules=sorted(chosen),
        rank=new_rank,
        scores={n: round(s, 6) for n, s in sorted(scores.items())},
        plain_parameters=budget,
        selected_parameters=sum(_lora_size(candidates[n], new_rank) for n in chosen),
    )
