"""One app (daphne + worker) and one headless Chromium for the browser tests (closed when
they are done: Playwright's sync API keeps an event loop running while it is open).

Answers come from ChatOpenAI talking to the local OpenAI-compatible server, which
streams slowly enough to watch an answer grow and to stop it half-way. Every test
signs in as a user of its own, so any test runs alone or in any order.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from queries.tests.browser.pages import DESKTOP, PASSWORD, TIMEOUT, expect_ready, sign_in, upload
from queries.tests.conftest import FALCONS
from tests.browser import chromium
from tests.live import LiveApp, model_settings
from tests.openai_server import OpenAIServer


@pytest.fixture(scope="package")
def llm() -> Iterator[OpenAIServer]:
    """One local OpenAI-compatible server for the app of all browser tests."""
    server = OpenAIServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def app(llm: OpenAIServer, tmp_path_factory) -> Iterator[LiveApp]:
    live = LiveApp(tmp_path_factory.mktemp("browser"), **model_settings(llm.base_url))
    try:
        live.start(worker=True)
        yield live
    finally:
        live.stop()


@pytest.fixture(autouse=True)
def model(llm: OpenAIServer) -> OpenAIServer:
    """The model server with nothing scripted and nothing recorded yet."""
    return llm.reset()


@pytest.fixture(scope="package")
def browser():
    expect.set_options(timeout=TIMEOUT)
    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser):
    opened = browser.new_context(**DESKTOP)
    opened.set_default_timeout(TIMEOUT)
    yield opened
    opened.close()


@pytest.fixture
def username(app: LiveApp) -> str:
    """A user of this test's own, with no documents and no conversations."""
    name = f"user_{uuid.uuid4().hex[:12]}"
    app.create_user(name, PASSWORD)
    return name


@pytest.fixture
def page(context, app: LiveApp, username: str) -> Page:
    """The chat page, signed in as this test's user."""
    opened = context.new_page()
    sign_in(opened, app, username)
    return opened


@pytest.fixture
def falcons(page: Page, app: LiveApp) -> dict:
    """The user's falcons.txt, ready to be asked about."""
    document = upload(page, app, "falcons.txt", FALCONS.encode())
    expect_ready(page, "falcons")
    return document
