"""`ddx ui`: the Streamlit app (consult, history, benchmarks, settings) in the browser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from agent.cli.common import settings_from


def app_script() -> Path:
    """The packaged Streamlit script (``ui/app.py``)."""
    import ui

    return Path(ui.__file__).parent / "app.py"


def streamlit_command(script: Path, port: int, host: str, open_browser: bool) -> list[str]:
    """The ``streamlit run`` command line: no usage statistics, no file watching, no
    developer menu."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "false" if open_browser else "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]


def ui(
    ctx: typer.Context,
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to serve the app on."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (0.0.0.0 to serve the network)."
    ),
    open_browser: bool = typer.Option(
        True, "--browser/--no-browser", help="Open the app in the default browser."
    ),
) -> None:
    """Open the DDx Agent app in the browser (embedded engine, no model weights).

    Pages: Consult (questions, live differential, report download), History (your saved
    consultations), Benchmarks (runs written by `ddx eval`), Settings. Stop with Ctrl-C.
    Decision support for learning and research, not a diagnosis.
    """
    settings = settings_from(ctx)  # invalid settings stop here with one clear line
    env = dict(os.environ)
    env["DDX_DATA_DIR"] = str(settings.data_dir)  # the explicit --data-dir reaches the app
    command = streamlit_command(app_script(), port, host, open_browser)
    typer.echo(f"DDx Agent on http://{host}:{port} (data: {settings.data_dir}); Ctrl-C stops it.")
    try:
        completed = subprocess.run(command, env=env, check=False)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    if completed.returncode not in (0, -2, 130):
        raise typer.Exit(completed.returncode)
