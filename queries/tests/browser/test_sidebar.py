"""The chat page's sidebar and its looks: conversations renamed, deleted and reopened at
their latest message, a long list that keeps the documents in reach, one line per
document with its whole name, and the page on a desktop and a phone, light and dark."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from queries.tests.browser.pages import (
    DESKTOP,
    PHONE,
    TIMEOUT,
    ask,
    conversations,
    csrf,
    expect_idle,
    expect_ready,
    last_answer,
    sign_in,
    upload,
)
from queries.tests.conftest import FALCONS
from tests.browser import screenshot
from tests.live import LiveApp
from tests.openai_server import Reply

pytestmark = pytest.mark.slow


def start_conversation(page: Page, app: LiveApp, question: str) -> str:
    """A conversation of one turn (with no documents the fixed "I don't know" answer)."""
    response = page.request.post(
        app.url + "/api/query/", data={"query": question}, headers=csrf(page)
    )
    assert response.ok, response.text()
    return response.json()["conversation_id"]


def make_conversations(app: LiveApp, username: str, code: str) -> None:
    """Rows written straight into the database, for sizes no test would ask for one by one."""
    app.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "from queries.models import Conversation, Message; "
        f"owner = User.objects.get(username={username!r}); {code}",
    )


def test_a_conversation_is_renamed_and_deleted_from_the_sidebar(page: Page, app: LiveApp):
    start_conversation(page, app, "First question about falcons")
    start_conversation(page, app, "Second question about kestrels")
    page.reload()
    patches: list[str] = []
    page.on("request", lambda r: patches.append(r.post_data) if r.method == "PATCH" else None)

    page.get_by_role("button", name="Rename “First question about falcons”").click()
    box = page.get_by_label("New name of the conversation")
    expect(box).to_have_value("First question about falcons")
    box.fill("Falcon notes")
    box.press("Enter")
    expect(conversations(page)).to_have_text(["Second question about kestrels", "Falcon notes"])
    page.get_by_role("button", name="Rename “Falcon notes”").click()
    page.get_by_label("New name of the conversation").fill("Never saved")
    page.get_by_label("New name of the conversation").press("Escape")
    expect(conversations(page)).to_have_text(["Second question about kestrels", "Falcon notes"])
    assert [json.loads(p) for p in patches] == [{"title": "Falcon notes"}]
    page.reload()
    expect(conversations(page)).to_have_text(["Second question about kestrels", "Falcon notes"])

    conversations(page).filter(has_text="Second question").click()
    expect(page.locator(".question")).to_have_text(["Second question about kestrels"])
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete “Second question about kestrels”").click()
    expect(conversations(page)).to_have_count(2)  # dismissed: kept
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete “Second question about kestrels”").click()
    expect(conversations(page)).to_have_text(["Falcon notes"])
    expect(page.locator(".question")).to_have_count(0)  # the open conversation went with it
    page.reload()
    expect(conversations(page)).to_have_text(["Falcon notes"])


def test_a_title_has_its_rows_width_until_its_actions_are_wanted(page: Page, app: LiveApp):
    title = "Which of the falcon surveys counted nesting pairs on the cliffs north of the bay?"
    start_conversation(page, app, title)
    start_conversation(page, app, "Second question")
    page.reload()
    row = page.locator(".conversation-row", has_text="Which of the falcon")
    shown = row.locator(".conversation")
    expect(shown).to_have_attribute("title", title)

    def share_of_row() -> float:
        return shown.bounding_box()["width"] / row.bounding_box()["width"]

    assert share_of_row() > 0.95  # not open: the hidden Rename and Delete take no room
    shown.click()  # open: its actions stay beside the title
    expect(shown).to_have_attribute("aria-current", "true")
    assert share_of_row() < 0.8
    expect(row.get_by_role("button", name=re.compile("^Rename"))).to_be_visible()


def test_many_conversations_scroll_on_their_own_and_keep_the_documents_in_reach(
    page: Page, app: LiveApp, username: str
):
    make_conversations(
        app,
        username,
        "[Conversation.objects.create(owner=owner, title=f'Question {n:02}') for n in range(40)]",
    )
    upload(page, app, "falcons.txt", FALCONS.encode())
    expect_ready(page, "falcons")

    listed = page.locator("#conversations")
    expect(listed.locator("li")).to_have_count(40)
    scrolls = listed.evaluate("(el) => el.scrollHeight > el.clientHeight + 100")
    assert scrolls, "the conversation list did not get a scroll of its own"
    expect(page.locator("#documents-heading")).to_be_in_viewport()
    expect(page.locator("#documents li", has_text="falcons")).to_be_in_viewport()


def test_a_long_conversation_reopens_at_its_latest_message(page: Page, app: LiveApp, username):
    make_conversations(
        app,
        username,
        "c = Conversation.objects.create(owner=owner, title='A long talk'); "
        "[Message.objects.create(conversation=c, owner=owner, role=role, "
        "text=f'{role} turn {n}: ' + 'words of the turn ' * 30) "
        "for n in range(12) for role in ('user', 'assistant')]",
    )
    page.reload()

    conversations(page).filter(has_text="A long talk").click()

    expect(page.locator("article.answer")).to_have_count(12)
    expect(page.locator("article.answer").last).to_be_in_viewport()
    expect(page.locator(".question").first).not_to_be_in_viewport()


def test_a_document_being_processed_keeps_its_row_on_one_line(page: Page):
    """Name, stage with its progress, and Delete share one line, as a ready document's do."""
    listing = {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": "6f1c1e52-8a3c-4b1e-9d0e-3b8f0e1d2c4a",
                "title": "Quarterly budget tracker with every line item of the launch",
                "filename": "budget.xlsx",
                "status": "embedding",
                "progress": 40,
                "error": "",
            },
            {
                "id": "0a7d5c1b-2e4f-4c6a-8b9d-1f2e3d4c5b6a",
                "title": "falcons",
                "filename": "falcons.txt",
                "status": "ready",
                "progress": 100,
                "error": "",
            },
        ],
    }
    page.route(
        "**/api/documents/",
        lambda route: route.fulfill(json=listing) if route.request.method == "GET" else None,
    )
    page.reload()

    busy = page.locator("#documents li", has_text="Quarterly budget")
    expect(busy.locator(".badge")).to_have_text("Embedding 40%")
    rows = page.locator("#documents li").evaluate_all(
        """(items) => items.map((item) => {
            const box = item.getBoundingClientRect();
            const tops = [...item.children].filter((el) => el.offsetParent !== null)
                .map((el) => el.getBoundingClientRect());
            return {height: box.height, inside: tops.every((r) => r.top >= box.top
                    && r.bottom <= box.bottom && r.right <= box.right + 1)};
        })"""
    )
    assert abs(rows[0]["height"] - rows[1]["height"]) < 2, rows  # no second line
    assert all(row["inside"] for row in rows), rows
    expect(busy.get_by_role("button", name=re.compile("^Delete Quarterly"))).to_be_in_viewport()


def test_names_that_differ_at_their_end_are_read_whole(page: Page):
    """A ready document shows its whole name, with a check mark for its state; its
    Delete appears over the end of the line when the document is pointed at."""
    names = ["06 pixelforge thread 1", "06 pixelforge thread 2"]
    listing = {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": f"0a7d5c1b-2e4f-4c6a-8b9d-1f2e3d4c5b6{n}",
                "title": name,
                "filename": f"{name.replace(' ', '_')}.eml",
                "status": "ready",
                "progress": 100,
                "error": "",
            }
            for n, name in enumerate(names)
        ],
    }
    page.route(
        "**/api/documents/",
        lambda route: route.fulfill(json=listing) if route.request.method == "GET" else None,
    )
    page.reload()

    for name in names:
        row = page.locator("#documents li", has_text=name)
        expect(row.locator(".badge")).to_have_text("Ready")  # as a screen reader reads it
        cut = row.locator(".name").evaluate("(el) => el.scrollWidth > el.clientWidth")
        assert not cut, f"{name!r} is cut short"
    row = page.locator("#documents li", has_text=names[1])
    delete = row.get_by_role("button", name=f"Delete {names[1]}")

    def opacity() -> str:
        return delete.evaluate("(el) => getComputedStyle(el).opacity")

    assert opacity() == "0"
    row.hover()
    expect(delete).to_be_visible()
    assert opacity() == "1"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_chat_page_holds_up_on_each_screen_light_and_dark(
    browser, app: LiveApp, username: str, model, device: str, scheme: str
):
    """An answer with its sources fits the screen, in the scheme the reader's system asks for."""
    screen = DESKTOP if device == "desktop" else PHONE
    context = browser.new_context(**screen, color_scheme=scheme)
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        sign_in(page, app, username)
        upload(page, app, "falcons.txt", FALCONS.encode())
        expect_ready(page, "falcons")
        model.replies.append(Reply(["Peregrines ", "dive ", "at ", "300 ", "km/h ", "[1]."]))
        ask(page, "How fast does a peregrine falcon dive?")
        expect(last_answer(page).locator(".answer-text")).to_contain_text("km/h [1].")
        expect_idle(page)

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], f"the page scrolls sideways ({width} px)"
        expect(last_answer(page).locator(".citations li")).to_be_in_viewport()
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(21, 22, 26)" if scheme == "dark" else "rgb(247, 247, 248)")
        screenshot(page, f"chat-{device}-{scheme}.png")

        if device == "phone":
            page.get_by_role("button", name="Menu").click()
            expect(page.locator("#documents li", has_text="falcons")).to_be_visible()
            expect(conversations(page)).to_have_count(1)
            screenshot(page, f"chat-{device}-{scheme}-menu.png")
    finally:
        context.close()


def test_a_documents_summary_opens_under_its_name(page: Page, app: LiveApp):
    text = (
        "Kestrel survey notes. The kestrel hunts by hovering over grassland and verges. "
        "Volunteers counted forty pairs along the motorway in the spring of 2025. "
        "Most pairs nested in old crow nests and in boxes put up by the survey team."
    )
    upload(page, app, "kestrels.md", text.encode())
    expect_ready(page, "kestrels")
    name = page.get_by_role("button", name="kestrels", exact=True)
    summary = page.locator("#documents li", has_text="kestrels").locator(".summary")
    expect(summary).to_be_hidden()

    name.click()

    expect(summary).to_be_visible()
    expect(summary).to_contain_text("kestrel")
    expect(name).to_have_attribute("aria-expanded", "true")
    screenshot(page, "chat-summary.png")
