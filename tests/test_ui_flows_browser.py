"""Each flow of the app in a real headless Chromium (Debian's, through Playwright; no browser is
ever downloaded), on one app served by ``streamlit run`` as ``ddx ui`` runs it:

* reload, bookmark and page navigation keep the user's history; the bare address in the same
  browser brings it back (cookie), another browser sees nothing of it;
* the report downloads as Markdown with the patient and the whole transcript with reasons;
* a rare-disease consultation (HPO ids typed, a term picked from the suggestions, a sign
  ticked on a checklist) reaches a ranking with OMIM / ORPHA identifiers;
* ``make run`` starts with standard input closed, prompts for nothing and serves the app.

Screenshots of each step land in the test artefacts folder (``runs/test-artifacts/flows``);
``docs/`` holds a copy of them (see README, "The app"). Skipped, saying why, without
``/usr/bin/chromium`` or Playwright.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.test_ui_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_FLAGS,
    STEP_TIMEOUT_MS,
    answer_by_click,
    free_port,
    open_consultation,
    running_app,
    wait_interactive,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)
SHOTS = ARTIFACTS / "flows"
VIEWPORT: ViewportSize = {"width": 1400, "height": 1600}
RARE_TIMEOUT_MS = 180_000
"""The first rare-disease use builds the HPO knowledge base into the cache (seconds to a
minute on a loaded machine)."""
REPO = Path(__file__).parents[1]
MAKE_RUN_TIMEOUT_S = 300


@contextmanager
def system_chromium() -> Iterator[Browser]:
    pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def app_url(mini_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One app for the module's flows (each flow opens its own browser contexts)."""
    state = tmp_path_factory.mktemp("flows-state")
    with running_app(mini_data_dir, state) as (url, _):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with system_chromium() as launched:
        yield launched


def settle(page: Page) -> None:
    """Wait until the page's script run has settled: nothing stale left on screen."""
    page.wait_for_function(
        "() => !document.querySelector('[data-stale=\"true\"]')", timeout=STEP_TIMEOUT_MS
    )
    page.wait_for_load_state("networkidle")


def shot(page: Page, name: str) -> Path:
    """Screenshot once the page's script run has settled (nothing stale left on screen) and
    its lazily drawn parts (tables, download buttons) are there."""
    settle(page)
    page.wait_for_timeout(800)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def sidebar_entries(page: Page) -> list[str]:
    sidebar = page.get_by_test_id("stSidebar")
    return [text for text in sidebar.get_by_role("button").all_inner_texts() if " y F · " in text]


def go(page: Page, link: str) -> None:
    """Click a page link of the sidebar and wait for that page's title."""
    page.get_by_test_id("stSidebar").get_by_role("link", name=link).click()
    page.get_by_role("heading", name=link).first.wait_for(timeout=STEP_TIMEOUT_MS)


def test_reload_bookmark_and_navigation_keep_the_history(app_url: str, browser: Browser) -> None:
    mine = browser.new_context(viewport=VIEWPORT)
    page = mine.new_page()
    wait_interactive(page, app_url)
    shot(page, "01-intake")
    open_consultation(page, "fever")
    waiting = page.locator("h3").first.inner_text()
    address = page.url
    assert re.search(r"[?&]user=[0-9a-f]{32}", address) and "consultation=" in address

    page.reload()  # a reload reopens the open consultation where it stood
    page.get_by_text("Question 1 of").wait_for(timeout=STEP_TIMEOUT_MS)
    settle(page)
    assert page.locator("h3").first.inner_text() == waiting

    for link in ("History", "Doctors", "Benchmarks", "Settings"):  # every link keeps the user
        go(page, link)
        assert "user=" in page.url and page.url.split("user=")[1][:32] in address
    go(page, "History")
    shot(page, "02-history")
    page.reload()
    page.get_by_role("button", name="Resume").first.click()
    page.get_by_text("Question 1 of").wait_for(timeout=STEP_TIMEOUT_MS)
    settle(page)
    assert page.locator("h3").first.inner_text() == waiting

    bare = mine.new_page()  # the bare address in the same browser: the cookie names the user
    wait_interactive(bare, app_url)
    assert len(sidebar_entries(bare)) == 1

    stranger = browser.new_context(viewport=VIEWPORT).new_page()
    wait_interactive(stranger, app_url)  # another browser: a new user who sees nothing
    assert sidebar_entries(stranger) == []
    bookmark = browser.new_context(viewport=VIEWPORT).new_page()
    bookmark.goto(address)  # a bookmark in another browser: the same history and question
    bookmark.get_by_text("Question 1 of").wait_for(timeout=STEP_TIMEOUT_MS)
    assert bookmark.locator("h3").first.inner_text() == waiting
    mine.close()


def test_the_downloaded_report_has_the_patient_and_the_transcript(
    app_url: str, browser: Browser
) -> None:
    page = browser.new_context(viewport=VIEWPORT, accept_downloads=True).new_page()
    wait_interactive(page, app_url)
    open_consultation(page, "fever")
    asked = [page.locator("h3").first.inner_text()]
    answer_by_click(page, 1)
    shot(page, "03-question")
    page.get_by_role("button", name="Finish now").click()
    page.get_by_role("heading", name="Report").wait_for(timeout=STEP_TIMEOUT_MS)
    shot(page, "04-report")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the report (Markdown)").click()
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert "- **Age:** 34 years" in markdown and "- **Sex:** female" in markdown
    assert "## Transcript" in markdown and asked[0] in markdown
    assert "| # | Question | Answer | Why it was asked |" in markdown
    transcript = markdown.split("## Transcript")[1]
    assert re.search(r"\| 1 \| .+\? \| No\. \| It separates .+ \|", transcript), transcript
    with page.expect_download() as printable:
        page.get_by_role("button", name="Printable report (HTML)").click()
    html = Path(printable.value.path()).read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and asked[0] in html


def test_a_rare_disease_consultation_reaches_a_ranking(app_url: str, browser: Browser) -> None:
    page = browser.new_context(viewport=VIEWPORT).new_page()
    wait_interactive(page, app_url)
    page.get_by_text("Rare diseases", exact=True).click()
    described = page.get_by_label("Phenotypes in plain words or HPO ids")
    described.wait_for(timeout=RARE_TIMEOUT_MS)
    page.get_by_label("Age (years)").fill("19")
    page.get_by_test_id("stRadio").get_by_text("F", exact=True).click()
    described.fill("HP:0001166, HP:0001083")  # arachnodactyly, ectopia lentis
    page.get_by_role("button", name="Read the description").click()
    page.get_by_text("Arachnodactyly (HP:0001166): present").wait_for(timeout=STEP_TIMEOUT_MS)
    page.get_by_test_id("stMultiSelect").click()
    page.keyboard.type("HP:0000098")  # tall stature, by its id
    page.get_by_role("option", name="Tall stature (HP:0000098)").click()
    page.keyboard.press("Escape")
    shot(page, "05-rare-intake")
    page.get_by_role("button", name="Start consultation").click()
    page.get_by_text("Question 1 of").wait_for(timeout=STEP_TIMEOUT_MS)
    settle(page)
    assert page.locator("h3").first.inner_text().startswith("Which parts of the body")
    main = page.get_by_test_id("stMain")  # the review of systems: a long list, a pick
    assert main.get_by_test_id("stMultiSelect").count() == 1
    page.get_by_role("button", name="Don't know", exact=True).click()
    page.get_by_text("Question 2 of").wait_for(timeout=STEP_TIMEOUT_MS)
    assert page.locator("h3").first.inner_text().startswith("Which of these does the patient")
    signs = main.get_by_test_id("stCheckbox")  # a checklist
    signs.first.wait_for(timeout=STEP_TIMEOUT_MS)
    settle(page)
    assert 2 <= signs.count() <= 8 and not main.get_by_test_id("stMultiSelect").count()
    signs.first.locator("label").click()
    shot(page, "06-rare-question")
    page.get_by_role("button", name="Answer", exact=True).click()
    page.get_by_text("Question 3 of").wait_for(timeout=STEP_TIMEOUT_MS)
    page.get_by_role("button", name="Finish now").click()
    page.get_by_role("heading", name="Report").wait_for(timeout=STEP_TIMEOUT_MS)
    shot(page, "07-rare-report")
    assert main.get_by_role("link", name=re.compile(r"^(OMIM|ORPHA):\d+$")).count() >= 1
    first = main.get_by_test_id("stExpander").first.inner_text()
    assert "Arachnodactyly: yes" in first and re.search(r" — \d+\.\d%", first), first


def test_make_run_starts_with_stdin_closed(mini_data_dir: Path, tmp_path: Path) -> None:
    """The real command, as a new user runs it: fresh HOME, nothing on standard input."""
    port = free_port()
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "DDX_DATA_DIR": str(mini_data_dir),
        "DDX_STATE_DIR": str(tmp_path / "state"),
        "PORT": str(port),
    }
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    (tmp_path / "home").mkdir()
    log = tmp_path / "make-run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "run", f"PORT={port}"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped below by our own pid
        )
        try:
            served = _serves(f"http://127.0.0.1:{port}", process, MAKE_RUN_TIMEOUT_S)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    output = log.read_text(encoding="utf-8", errors="replace")
    assert served, output[-3000:]
    assert "Email:" not in output and "usage statistics" not in output
    assert f"DDx Agent is ready: http://127.0.0.1:{port}" in output


def _serves(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """The app's page and health answer before ``timeout`` and the command is still up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            healthy = httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200
            if healthy and "<title>" in httpx.get(url, timeout=5).text:
                time.sleep(1.0)  # the ready line is printed right after the health check
                return process.poll() is None
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False
