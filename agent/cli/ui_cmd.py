"""`ddx ui`: the Streamlit app (consult, history, doctors, benchmarks, settings) in the browser.

Streamlit runs headless (no first-run "Email:" prompt, nothing read from standard input, so it
starts from a script, a service or ``make run </dev/null``); once the app answers, this command
opens the browser itself where there is one and prints the address.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import webbrowser
from pathlib import Path

import typer

from agent.cli.common import settings_from

STREAMLIT_OPTIONS: dict[str, str] = {
    "server.headless": "true",
    "server.fileWatcherType": "none",
    "server.runOnSave": "false",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "minimal",
    "global.showWarningOnDirectExecution": "false",
}
"""Streamlit's configuration for the app (the same as ``.streamlit/config.toml``): headless,
no usage statistics, no file watching, no developer menu or "Deploy" button."""
HEALTH_TIMEOUT_S = 120.0


def app_script() -> Path:
    """The packaged Streamlit script (``ui/app.py``)."""
    import ui

    return Path(ui.__file__).parent / "app.py"


def streamlit_command(script: Path, port: int, host: str) -> list[str]:
    """The ``streamlit run`` command line with :data:`STREAMLIT_OPTIONS`."""
    command = [sys.executable, "-m", "streamlit", "run", str(script)]
    command += ["--server.port", str(port), "--server.address", host]
    for name, value in STREAMLIT_OPTIONS.items():
        command += [f"--{name}", value]
    return command


def can_open_browser() -> bool:
    """A graphical browser can be opened here: macOS, Windows, or a Linux desktop session
    (never a text browser in the terminal the app logs to)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def wait_until_serving(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """True once the app answers its health check; False if it exits or the time runs out."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def ui(
    ctx: typer.Context,
    port: int = typer.Option(8501, "--port", min=1, max=65535, help="Port to serve the app on."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (0.0.0.0 to serve the network)."
    ),
    open_browser: bool = typer.Option(
        True, "--browser/--no-browser", help="Open the app in the default browser, if any."
    ),
) -> None:
    """Open the DDx Agent app in the browser (embedded engine, no model weights).

    Pages: Consult (common conditions or rare diseases: questions, live differential, report
    download), History (your saved consultations), Doctors, Benchmarks (runs written by
    `ddx eval`, or start one), Settings. Stop with Ctrl-C. Decision support for learning and
    research, not a diagnosis.
    """
    from agent.cli.extras import require_extra

    require_extra("streamlit")  # the app runs in a child process: say it here, in one line
    settings = settings_from(ctx)  # invalid settings stop here with one clear line
    env = dict(os.environ)
    env["DDX_DATA_DIR"] = str(settings.data_dir)  # the explicit --data-dir reaches the app
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}"
    command = streamlit_command(app_script(), port, host)
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
    try:
        if wait_until_serving(url, process, HEALTH_TIMEOUT_S):
            typer.echo(f"DDx Agent is ready: {url} (data: {settings.data_dir}); Ctrl-C stops it.")
            if open_browser and can_open_browser():
                webbrowser.open(url)
        returncode = process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait()
        raise typer.Exit(0) from None
    if returncode not in (0, -2, -15, 130):
        raise typer.Exit(returncode)
