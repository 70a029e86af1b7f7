"""End-to-end tests in a real headless Chromium (Debian's `chromium`), driven by Playwright.

The app is served by werkzeug on an ephemeral port against the test database; calls are
driven through the real FastAGI server by the dialplan harness, as Asterisk would. These
tests never skip: without the browser they fail, and `python3 dev.py test` installs it.
"""
import asyncio
import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from fake_asterisk.dialplan import Channel, load_dialplan
from tests.support.routing import routing_agi_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LIVE_TIMEOUT_MS = 20_000  # a few refresh periods of the pages' polling

expect.set_options(timeout=LIVE_TIMEOUT_MS)


@pytest.fixture(scope="package")
def browser():
    """One Chromium for this package. Not for the session: while Playwright's sync API is
    open it keeps an event loop running in this thread, which later asyncio.run() calls in
    other packages' tests would trip over."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (python3 dev.py test "
                    "does it when run as root) or set CHROMIUM_PATH")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(viewport=…) -> a page in a fresh browser context (its own cookies)."""
    contexts = []

    def make(width: int = 1280, height: int = 900, **options):
        options = {"timezone_id": "UTC", "locale": "en-GB", **options}
        context = browser.new_context(base_url=live_server, viewport={"width": width, "height": height},
                                      **options)
        context.set_default_timeout(LIVE_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


class CallDriver:
    """One call through the shipped dialplan and the real FastAGI server, on its own thread
    and event loop (as Asterisk is its own process), so the browser can watch it live."""

    def __init__(self, engine):
        self.engine = engine
        self.record = None
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, **channel) -> "CallDriver":
        async def main():
            self._loop = asyncio.get_running_loop()
            server = routing_agi_server(self.engine, port=0)
            await server.start()
            self._ready.set()
            try:
                self.record = await Channel(load_dialplan(), "127.0.0.1", server.port,
                                            **channel).run()
            finally:
                await server.stop(grace_seconds=5)

        def run():
            try:
                asyncio.run(main())
            except BaseException as error:  # reported by finish()
                self.error = error
                self._ready.set()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)
        return self

    def set_threadsafe(self, event: asyncio.Event) -> None:
        self._loop.call_soon_threadsafe(event.set)

    def finish(self, timeout: float = 30):
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the call did not end"
        if self.error:
            raise self.error
        return self.record


@pytest.fixture
def calls(engine):
    drivers = []

    def place(**channel) -> CallDriver:
        driver = CallDriver(engine).start(**channel)
        drivers.append(driver)
        return driver

    yield place
    for driver in drivers:
        if driver._thread.is_alive():
            driver._thread.join(30)
