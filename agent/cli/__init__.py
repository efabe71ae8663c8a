"""The ``ddx`` command: one entry point, one module per sub-command group.

Sub-command modules import their heavy dependencies (langgraph, numpy) inside the command
functions, so ``ddx --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from agent.errors import DdxError

app = typer.Typer(
    name="ddx",
    help=(
        "DDx Agent: interactive differential diagnosis with an embedded Bayesian engine "
        "(no model weights), simulated patients and benchmarks.\n\n"
        "Decision support for learning and research, not a diagnosis."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Folder with the public datasets. Default: $DDX_DATA_DIR, else ./data.",
        show_default=False,
    ),
) -> None:
    ctx.obj = {"data_dir": data_dir}


def _register() -> None:
    from agent.cli import (
        chat_cmd,
        data_cmd,
        doctors_cmd,
        eval_cmd,
        finetune_cmd,
        index_cmd,
        intake_cmd,
        kb_cmd,
        ui_cmd,
    )

    app.add_typer(data_cmd.app, name="data")
    app.add_typer(kb_cmd.app, name="kb")
    app.add_typer(eval_cmd.app, name="eval")
    app.add_typer(doctors_cmd.app, name="doctors")
    app.add_typer(index_cmd.app, name="index")
    app.command("chat")(chat_cmd.chat)
    app.command("intake")(intake_cmd.intake)
    app.command("ui")(ui_cmd.ui)
    app.command("finetune")(finetune_cmd.finetune)


_register()


def main() -> None:
    """Console-script entry point: user errors print one clear message and exit with 2."""
    from agent.cli.extras import missing_extra

    try:
        app()
    except DdxError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except ModuleNotFoundError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise
        typer.secho(f"error: {extra}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("\ninterrupted", err=True)
        sys.exit(130)
