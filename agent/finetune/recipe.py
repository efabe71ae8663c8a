"""Training recipes: one committed YAML file per recipe, validated by a pydantic model.

A recipe holds everything that decides the result except the base model and the data (given on
the command line): the LoRA shape, the optimiser, batching, checkpoints and, optionally,
differential privacy. ``agent/finetune/recipes/`` holds the committed ones; command-line options
(``--dp-epsilon``, ``--max-steps``, …) override single fields and the report records the result.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.errors import SettingsError

RECIPES_DIR = Path(__file__).parent / "recipes"
DEFAULT_RECIPE = RECIPES_DIR / "lora-cpu-small.yaml"


class LoraSettings(BaseModel):
    """The adapter: ``rank`` × (in + out) parameters per adapted linear layer."""

    model_config = ConfigDict(extra="forbid")

    rank: int = Field(default=8, ge=1, le=512, description="LoRA rank r.")
    alpha: int = Field(default=16, ge=1, description="Scaling: the update is alpha/r · BA.")
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0, description="Dropout on LoRA's input.")
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
        min_length=1,
        description="Names of the linear layers to adapt (Llama/Qwen2 naming), or ['all-linear'].",
    )
    modules_to_save: list[str] = Field(
        default_factory=list,
        description="Whole modules trained in full and saved with the adapter (e.g. "
        "'embed_tokens' after adding tokens); empty for a pure LoRA adapter.",
    )
    select_fraction: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Module selection: adapt only this fraction of the target modules, those "
        "with the largest gradient scores, at a rank raised to keep plain LoRA's parameter "
        "count (agent/finetune/select.py). None: every target module.",
    )
    select_batches: int = Field(
        default=4, ge=1, description="Calibration micro-batches for the gradient scores."
    )


class DpSettings(BaseModel):
    """DP-SGD: per-example gradients clipped to ``max_grad_norm``, Gaussian noise, Poisson
    sampling with ``expected_batch_size`` records per step; stops at (epsilon, delta)."""

    model_config = ConfigDict(extra="forbid")

    epsilon: float = Field(gt=0, description="Privacy budget ε for the whole training run.")
    delta: float = Field(gt=0, lt=1, description="δ; take it well below 1 / (records).")
    max_grad_norm: float = Field(default=1.0, gt=0, description="Per-example clipping norm C.")
    expected_batch_size: int = Field(
        default=8, ge=1, description="Records per step on average (Poisson sampling)."
    )


class Recipe(BaseModel):
    """One training recipe (a YAML file of these fields)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="custom", description="Shown in the report.")
    lora: LoraSettings = Field(default_factory=LoraSettings)
    learning_rate: float = Field(default=2e-4, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    epochs: float = Field(default=1.0, gt=0, description="Passes over the data (if no max_steps).")
    max_steps: int | None = Field(default=None, ge=1, description="Optimizer steps; wins.")
    batch_size: int = Field(default=4, ge=1, description="Conversations per forward pass.")
    grad_accum: int = Field(default=1, ge=1, description="Forward passes per optimizer step.")
    max_length: int = Field(default=1024, ge=16, description="Tokens kept per conversation.")
    checkpoint_every: int = Field(default=50, ge=1, description="Optimizer steps between saves.")
    log_every: int = Field(default=1, ge=1, description="Steps between loss-curve points.")
    seed: int = 0
    dp: DpSettings | None = None

    @model_validator(mode="after")
    def _dp_needs_steps(self) -> Recipe:
        if self.dp is not None and self.grad_accum != 1:
            raise ValueError("with dp, set grad_accum to 1: the Poisson batch is the step")
        if self.dp is not None and self.lora.select_fraction is not None:
            raise ValueError("module selection reads the training data without noise: not with dp")
        return self


def load_recipe(path: Path | None) -> Recipe:
    """The recipe in ``path`` (YAML), or the default recipe; errors name the bad field."""
    import yaml  # type: ignore[import-untyped]

    source = path or DEFAULT_RECIPE
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError(f"Cannot read the recipe {source}: {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())  # one line: the CLI prints one
        raise SettingsError(f"The recipe {source} is not valid YAML: {problem}.") from None
    if not isinstance(data, dict):
        raise SettingsError(f"The recipe {source} must be a mapping of fields.")
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(f"The recipe {source} is invalid: {_problems(exc)}.") from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'recipe'}: {err['msg']}"
        for err in exc.errors()[:5]
    )


def with_dp(recipe: Recipe, epsilon: float | None, delta: float | None) -> Recipe:
    """The recipe with ``--dp-epsilon`` / ``--dp-delta`` applied: both or neither (a recipe's
    own ``dp`` block keeps its other fields: clipping norm, expected batch size)."""
    if epsilon is None and delta is None:
        return recipe
    if epsilon is None or delta is None or epsilon <= 0 or not 0 < delta < 1:
        raise SettingsError("Give both --dp-epsilon (> 0) and --dp-delta (between 0 and 1).")
    base = recipe.dp or DpSettings(epsilon=epsilon, delta=delta)
    dp = base.model_copy(update={"epsilon": epsilon, "delta": delta})
    fields = {**recipe.model_dump(), "dp": dp.model_dump(), "grad_accum": 1}
    try:
        return Recipe.model_validate(fields)
    except ValidationError as exc:
        raise SettingsError(f"The recipe cannot run with DP: {_problems(exc)}.") from None
