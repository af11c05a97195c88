"""What a browser test does on the chat page as a person would: sign in, upload, ask."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.live import LiveApp

PASSWORD = "browser-pass-123"
TIMEOUT = 30_000  # ms, for every wait on the page: generous for two busy cores
INGEST_TIMEOUT = 90_000
STREAM = "**/api/query/stream/"
# The looks a page must hold up in: a desktop and a phone, each light and dark.
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def sign_in(page: Page, app: LiveApp, username: str) -> None:
    page.goto(app.url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Document Q&A")).to_be_visible()
    page.wait_for_load_state()  # the page's script has run


def csrf(page: Page) -> dict[str, str]:
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return {"X-CSRFToken": token}


def upload(page: Page, app: LiveApp, name: str, content: bytes) -> dict:
    """Upload a file as the signed-in user through the documents API, as the page does."""
    response = page.request.post(
        app.url + "/api/documents/",
        multipart={"file": {"name": name, "mimeType": "text/plain", "buffer": content}},
        headers=csrf(page),
    )
    assert response.status == 201, response.text()
    return response.json()


def expect_ready(page: Page, *titles: str) -> None:
    """Reload the chat page and wait for the sidebar to show each document ready."""
    page.reload()
    for title in titles:
        badge = page.locator("#documents li", has_text=title).locator(".badge")
        expect(badge).to_have_text("Ready", timeout=INGEST_TIMEOUT)


def ask(page: Page, question: str) -> None:
    box = page.get_by_label("Ask a question")
    box.fill(question)
    box.press("Enter")


def last_answer(page: Page):
    return page.locator("article.answer").last


def expect_idle(page: Page) -> None:
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_enabled()
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_disabled()


def conversations(page: Page):
    """The conversation titles listed in the sidebar (each is a button that opens it)."""
    return page.locator("#conversations button.conversation")
