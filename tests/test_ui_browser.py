"""End to end in a real headless Chromium: the app served by ``streamlit run`` on 127.0.0.1,
a complaint typed, two questions answered by click, the differential chart and the next
question on screen, a screenshot kept as a test artefact.

Also a measuring tool (run as a module, see BENCHMARKS.md "UI (issue 5)"):
``python -m tests.test_ui_browser --data-dir DIR --answers 10 --out runs/ui-bench`` reports app
start → first page interactive, and answer click → next question rendered over a consultation.

The browser is Debian's ``chromium`` driven by Playwright; no browser is ever downloaded. The
test skips, saying why, when ``/usr/bin/chromium`` or Playwright is missing (CI installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import httpx
import pytest

from agent.cli.ui_cmd import app_script, streamlit_command

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(
    os.environ.get("DDX_TEST_ARTIFACTS", Path(__file__).parents[1] / "runs" / "test-artifacts")
)
STARTUP_TIMEOUT_S = 60
STEP_TIMEOUT_MS = 20_000
ENCODER_LOAD_TIMEOUT_MS = 180_000
CHART = '[data-testid="stVegaLiteChart"]'
SETTLED = """(number) => {
    const live = [...document.querySelectorAll('[data-testid="stElementContainer"]')]
        .filter((e) => e.getAttribute("data-stale") !== "true");
    const text = live.map((e) => e.innerText);
    const shown = text.some((t) => t.startsWith(`Question ${number} of`))
        && text.filter((t) => t.startsWith("Why this question")).length === 1;
    return shown ? performance.now() - window.ddxClickedAt : false;
}"""
"""Milliseconds since the click once the next question is on screen and the previous one's
elements are gone (checked on every animation frame), else false."""
ARM_CLICK_CLOCK = """() => document.addEventListener(
    "click", () => { window.ddxClickedAt = performance.now(); }, {capture: true, once: true})"""
"""Note, in the page, when the next click happens (the browser's clock, not Playwright's)."""


@dataclass
class Measurements:
    start_to_interactive_s: float = 0.0
    second_session_interactive_s: float = 0.0
    first_complaint_read_s: float = 0.0
    click_to_next_question_ms: list[float] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.click_to_next_question_ms)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(data_dir: Path, state_dir: Path) -> Iterator[tuple[str, float]]:
    """``streamlit run`` the packaged app (the command ``ddx ui`` runs) on a free port; yields
    its URL once healthy and the moment it was started."""
    port = free_port()
    env = {**os.environ, "DDX_DATA_DIR": str(data_dir), "DDX_STATE_DIR": str(state_dir)}
    command = streamlit_command(app_script(), port, "127.0.0.1")
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(url, process, log, started + STARTUP_TIMEOUT_S)
            yield url, started
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(
    url: str, process: subprocess.Popen[bytes], log: IO[bytes], deadline: float
) -> None:
    while True:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"streamlit exited: {log.read().decode()[-2000:]}")
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.perf_counter() > deadline:
            raise RuntimeError("streamlit did not become healthy in time")
        time.sleep(0.1)


@contextmanager
def chromium(profile_dir: Path) -> Iterator[BrowserContext]:
    """System Chromium, headless, with a fresh profile folder."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


def wait_interactive(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Presenting complaint").wait_for(timeout=STEP_TIMEOUT_MS)


def open_consultation(page: Page, complaint: str) -> float:
    """Type the intake and start; returns the seconds the complaint took to be read."""
    page.get_by_label("Age (years)").fill("34")
    page.get_by_test_id("stRadio").get_by_text("F", exact=True).click()
    page.get_by_label("Presenting complaint").fill(complaint)
    clock = time.perf_counter()
    page.get_by_role("button", name="Find the complaint").click()
    # The first reading of a complaint loads the sentence encoder (once per process).
    start = page.get_by_role("button", name="Start consultation")
    start.wait_for(timeout=ENCODER_LOAD_TIMEOUT_MS)
    read_s = time.perf_counter() - clock
    start.click()
    page.get_by_text("Question 1 of").wait_for(timeout=STEP_TIMEOUT_MS)
    # The sidebar lists the new consultation (this user's history) as the open one.
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name=re.compile(r"34 y F · .+ \(open\)")).wait_for()
    return read_s


def answer_by_click(page: Page, number: int) -> float | None:
    """Answer question ``number`` (No, else None of these, else Don't know); returns the
    milliseconds from the click to the next question on screen, as the browser's clock sees
    them, or None when the report came instead."""
    for label in ("No", "None of these", "Don't know"):
        button = page.get_by_role("button", name=label, exact=True)
        if button.count():
            break
    next_question = page.get_by_text(f"Question {number + 1} of", exact=False)
    report = page.get_by_role("heading", name="Report")
    page.evaluate(ARM_CLICK_CLOCK)
    button.first.click()
    next_question.or_(report).first.wait_for(timeout=STEP_TIMEOUT_MS)
    if report.count():
        return None
    settled = page.wait_for_function(SETTLED, arg=number + 1, timeout=STEP_TIMEOUT_MS)
    return float(settled.json_value())


def consult(
    data_dir: Path, workdir: Path, complaint: str, answers: int, screenshot: Path
) -> Measurements:
    """Start the app, consult in the browser, answer up to ``answers`` questions, measure."""
    result = Measurements()
    with (
        chromium(workdir / "profile") as browser,
        running_app(data_dir, workdir / "state") as (
            url,
            started,
        ),
    ):
        page = browser.new_page()
        wait_interactive(page, url)
        result.start_to_interactive_s = time.perf_counter() - started
        result.first_complaint_read_s = open_consultation(page, complaint)
        for number in range(1, answers + 1):
            result.questions.append(page.locator("h3").first.inner_text())
            latency = answer_by_click(page, number)
            if latency is None:
                break
            result.click_to_next_question_ms.append(latency)
            if number == 2:
                page.locator(CHART).first.wait_for(timeout=STEP_TIMEOUT_MS)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        second = browser.new_page()  # another browser session: the engine is already loaded
        clock = time.perf_counter()
        wait_interactive(second, url)
        result.second_session_interactive_s = time.perf_counter() - clock
    return result


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)
def test_a_consultation_in_a_real_browser(mini_data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    screenshot = ARTIFACTS / "ui-consult.png"
    screenshot.unlink(missing_ok=True)

    measured = consult(mini_data_dir, tmp_path, "fever", answers=2, screenshot=screenshot)

    # Two answers by click, each followed by the next question with its reason on screen.
    assert len(measured.click_to_next_question_ms) == 2
    assert measured.questions[0] == "Do you smoke cigarettes?"
    assert len(set(measured.questions)) == 2
    assert screenshot.stat().st_size > 10_000  # the chart and the third question, rendered
    (ARTIFACTS / "ui-latency.json").write_text(
        json.dumps(asdict(measured) | {"median_ms": measured.median_ms}, indent=2) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the app's latency in Chromium.")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--complaint", default="cough")
    parser.add_argument("--answers", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ARTIFACTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        measured = consult(
            args.data_dir, Path(workdir), args.complaint, args.answers, args.out / "ui-consult.png"
        )
    report = asdict(measured) | {"median_ms": measured.median_ms}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ui-latency.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
