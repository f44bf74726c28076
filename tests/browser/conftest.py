"""Playwright fixtures: Debian's chromium against pytest-django's live server.

The browser is found at $BROWSER_EXECUTABLE (default /usr/bin/chromium). Where it is missing
every browser test is reported as skipped with the reason, never passed silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 10_000


def chromium_executable() -> str:
    return os.environ.get("BROWSER_EXECUTABLE", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator:
    path = chromium_executable()
    if not os.path.exists(path):
        pytest.skip(f"Debian chromium not installed at {path} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="the playwright package is not installed")
    # Sync Playwright keeps an asyncio loop running in this thread, and Django refuses ORM
    # calls from a thread with a running loop. The tests touch the DB only between browser
    # steps, never concurrently with the loop, which is the case this escape hatch is for.
    # It is scoped to the browser tests' lifetime, so other tests keep Django's check.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(browser, live_server, transactional_db) -> Iterator:
    """A fresh browser context (no cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1280, "height": 800})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    # Destructive buttons ask for confirmation; the journeys confirm, as a user would.
    page.on("dialog", lambda dialog: dialog.accept())
    # Anything the Content-Security-Policy blocks is reported on the console: fail on it.
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert blocked == [], "the Content-Security-Policy blocked something"


@pytest.fixture
def screenshot():
    """Save a full-page PNG under test-artifacts/screenshots/ for a person to look at."""
    folder = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
