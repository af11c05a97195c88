"""The graph page: a document's names drawn and listed, a name's passages, asking about it."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from queries.tests.browser.pages import PHONE, TIMEOUT, expect_ready, sign_in, upload
from tests.browser import screenshot
from tests.live import LiveApp
from tests.openai_server import OpenAIServer, Reply

pytestmark = pytest.mark.slow

BRIEF = (
    "Project Kite launch brief. Nadia Rahimi owns the launch of Kite Planner. "
    "The launch video is made by Pixelforge Studio, with Faye Delacroix directing."
)
QUOTE = "Quotation from Pixelforge Studio for the launch video, sent by Faye Delacroix."
# A register of a few hundred people, as a long working file has them.
FIRST = [
    "Anna",
    "Boris",
    "Clara",
    "Dmitri",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Irene",
    "Jonas",
    "Kira",
    "Lars",
    "Mona",
    "Nils",
    "Olga",
]
LAST = [
    "Berov",
    "Carnby",
    "Dalton",
    "Eskola",
    "Fenwick",
    "Garza",
    "Holm",
    "Ivers",
    "Jansen",
    "Kowal",
    "Lind",
    "Moreau",
    "Novak",
]
REGISTER = "\n\n".join(
    f"Entry {n}. {first} {last} signed the register on day {n}."
    for n, (first, last) in enumerate(((f, la) for f in FIRST for la in LAST), start=1)
)


@pytest.fixture(autouse=True)
def names_found(model: OpenAIServer):
    """The model server answers the app's requests to find names in a document as a
    model would: a JSON list of the capitalised names in the text it was sent."""

    def respond(body: dict) -> Reply:
        if "extract named entities" not in str(body["messages"][0]):
            return Reply(["[]"])
        text = body["messages"][-1]["content"]
        names = dict.fromkeys(re.findall(r"[A-Z][a-z]+x? [A-Z][\w]+", text))
        return Reply([json.dumps([{"name": n, "type": "person"} for n in names])])

    model.respond_plain = respond


def test_a_documents_names_are_drawn_listed_and_open_their_passages(page: Page, app: LiveApp):
    brief = upload(page, app, "brief.txt", BRIEF.encode())
    upload(page, app, "quote.txt", QUOTE.encode())
    expect_ready(page, "brief", "quote")

    problems: list[str] = []  # a script error, a style the page's policy refused, a 404
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{app.url}/documents/{brief['id']}/graph/")

    expect(page.get_by_role("heading", name="Graph of brief")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("shared with 1 other document")
    expect(page.locator("#graph canvas").first).to_be_attached()  # drawn
    expect(page.locator("#shared-documents")).to_contain_text("quote")
    # A graph of a few names is drawn at about the page's text size, its labels apart.
    drawn = page.evaluate(
        """() => {
            const cy = document.getElementById("graph")._cyreg.cy;
            const boxes = cy.nodes().map((node) => node.boundingBox({includeLabels: true}));
            const apart = boxes.every((a, i) => boxes.every((b, j) => i === j
                || a.x2 <= b.x1 || b.x2 <= a.x1 || a.y2 <= b.y1 || b.y2 <= a.y1));
            const smallest = Math.min(...cy.nodes().map((node) =>
                parseFloat(node.style("font-size")))) * cy.zoom();
            const largest = Math.max(...cy.nodes().map((node) =>
                parseFloat(node.style("font-size")))) * cy.zoom();
            return {apart, smallest, largest};
        }"""
    )
    assert drawn["apart"], drawn
    assert drawn["smallest"] >= 10 and drawn["largest"] <= 22, drawn
    name = page.get_by_role("button", name="Pixelforge Studio")
    name.focus()
    page.keyboard.press("Enter")  # the list is the way in for a keyboard
    passages = page.locator("#entity-passages li")
    expect(passages).to_have_count(2)
    expect(passages.filter(has_text="quote")).to_contain_text("Quotation from Pixelforge Studio")
    screenshot(page, "graph.png")
    assert problems == [], problems

    page.get_by_role("link", name="Ask about Pixelforge Studio").click()
    expect(page.get_by_label("Ask a question")).to_have_value(
        "What do my documents say about Pixelforge Studio?"
    )


def test_a_document_with_hundreds_of_names_is_listed_whole_and_drawn(
    browser, app: LiveApp, username: str
):
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        sign_in(page, app, username)
        register = upload(page, app, "register.txt", REGISTER.encode())
        expect_ready(page, "register")

        page.goto(f"{app.url}/documents/{register['id']}/graph/")

        expect(page.get_by_role("status")).to_contain_text("names, shared with 0 other documents")
        count = page.locator("#entities li").count()
        assert count >= len(FIRST) * len(LAST), count  # every person, none left out
        expect(page.locator("#graph canvas").first).to_be_attached()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways ({width} px)"
        screenshot(page, "graph-phone.png")
    finally:
        context.close()
