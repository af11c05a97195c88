"""An answer's sources on the chat page: what it cites, the passages in full, the
documents a question is limited to, and what the answer bubble shows while it waits."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect

from queries.tests.browser.pages import (
    ask,
    expect_idle,
    expect_ready,
    last_answer,
    upload,
)
from queries.tests.conftest import FALCONS
from retrieval.tests import samples
from tests.browser import screenshot
from tests.live import LiveApp
from tests.openai_server import Reply

pytestmark = pytest.mark.slow

# Several passages (a chunk holds about 1,000 characters), each about peregrines,
# written in Markdown as people's notes are.
RAPTORS = "\n\n".join(
    f"# Peregrine notes, part {part}\n\n"
    + (
        f"The **peregrine falcon** ({topic}) is watched by the survey team every spring. "
        "Observers record where each pair nests, how often the peregrines hunt and which "
        "prey they take; the *notes* are kept for the yearly report. "
    )
    * 4
    for part, topic in enumerate(["diving", "nesting", "prey", "migration"], start=1)
)
APOLLO_PAGES = [
    f"{line} " * 6
    for line in [
        "The Apollo program was run by NASA and landed twelve astronauts on the Moon.",
        "Margaret Hamilton led the team at MIT that wrote the Apollo guidance software.",
    ]
]


def spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_sources_list_what_the_answer_cites_and_fold_the_rest(page: Page, app: LiveApp, model):
    """Only the cited passages are listed, numbered as in the text; the others are folded."""
    upload(page, app, "raptors.md", RAPTORS.encode())
    expect_ready(page, "raptors")
    model.replies.append(Reply(["Peregrines ", "are ", "surveyed ", "each ", "spring ", "[2]."]))

    ask(page, "How often do peregrine falcons hunt and where do they nest?")
    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_contain_text("each spring [2].")
    expect_idle(page)

    cited = answer.locator(".sources > ol.citations > li")
    expect(cited).to_have_count(1)
    expect(cited).to_have_attribute("value", "2")
    expect(cited).to_contain_text("raptors.md")
    fold = answer.locator("details.other-sources")
    expect(fold.locator("summary")).to_have_text(
        re.compile(r"^\d+ more passages? searched, not cited$")
    )
    expect(fold.locator("li").first).to_be_hidden()  # folded until asked for
    snippets = answer.locator(".snippet").all_text_contents()  # folded ones too
    assert len(snippets) >= 2, snippets
    assert all("peregrine" in s.lower() for s in snippets), snippets
    assert not [s for s in snippets if "#" in s or "*" in s], snippets  # text, not Markdown

    fold.locator("summary").click()
    expect(fold.locator("li").first).to_be_visible()
    screenshot(page, "chat-sources.png")


def test_a_marker_opens_its_passage_in_full_with_its_page(page: Page, app: LiveApp, model):
    """[1] opens the whole passage and its page over the conversation; Escape goes back."""
    upload(page, app, "apollo.pdf", samples.pdf(APOLLO_PAGES))
    expect_ready(page, "apollo")
    model.replies.append(Reply(["Hamilton's ", "team ", "wrote ", "it ", "[1]."]))
    ask(page, "Who wrote the Apollo guidance software?")
    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_contain_text("wrote it [1].")
    expect_idle(page)
    snippet = spaced(answer.locator(".citations li .snippet").first.inner_text())
    url = page.url

    answer.locator("a.marker", has_text="[1]").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#passage-title")).to_have_text("[1] apollo.pdf")
    expect(dialog.locator("#passage-where")).to_have_text(re.compile(r"^page [12]$"))
    expect(dialog.locator("#passage-text")).to_contain_text("Apollo")
    whole = spaced(dialog.locator("#passage-text").inner_text())
    assert len(whole) > len(snippet) and len(whole) > 300, (whole, snippet)
    assert snippet.removeprefix("...").removesuffix("...")[:60] in whole, (whole, snippet)
    expect(answer.locator(".citations li").first).to_have_class(re.compile(r"\bhighlight\b"))
    screenshot(page, "chat-passage.png")

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.url == url
    expect(answer.locator(".answer-text")).to_contain_text("wrote it [1].")


def test_the_answer_shows_dots_and_its_stage_until_the_first_token(page: Page, falcons, model):
    """Until its first token the answer bubble shows it is working and on what."""
    model.replies.append(Reply(["Peregrines ", "dive ", "fast ", "[1]."], delay=2.0))
    ask(page, "How fast does a peregrine falcon dive?")
    answer = last_answer(page)
    typing = answer.locator(".typing")

    expect(typing).to_contain_text("Writing the answer…")
    expect(typing.locator(".dots i")).to_have_count(3)
    screenshot(page, "chat-typing.png")

    expect(answer.locator(".answer-text")).to_contain_text("Peregrines")
    expect(typing).to_have_count(0)
    expect_idle(page)


def test_a_question_about_chosen_documents_searches_only_them(page: Page, app: LiveApp, model):
    """Ticked documents limit the question, the choice stays shown, and it can be undone."""
    upload(page, app, "falcons.txt", FALCONS.encode())
    kestrels = upload(page, app, "kestrels.md", b"Kestrels hover in the wind while hunting voles.")
    expect_ready(page, "falcons", "kestrels")
    sent: list[dict] = []
    page.on(
        "request",
        lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/stream/") else None,
    )

    page.get_by_label("Ask about kestrels only").check()
    scope = page.locator("#scope")
    expect(scope).to_be_visible()
    expect(scope.locator("li")).to_have_text(["kestrels×"])
    model.replies.append(Reply(["Kestrels ", "hover ", "[1]."]))
    ask(page, "Which bird of prey is the fastest?")
    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_contain_text("Kestrels hover")
    expect_idle(page)

    assert sent[-1]["document_ids"] == [kestrels["id"]]
    names = answer.locator(".sources strong").all_inner_texts()
    assert names and set(names) == {"kestrels.md"}, names
    expect(page.locator(".question").last).to_contain_text("About kestrels only")
    expect(scope).to_be_visible()  # still applies to the next question

    page.get_by_role("button", name="Remove kestrels from the chosen documents").click()
    expect(scope).to_be_hidden()
    expect(page.get_by_label("Ask about kestrels only")).not_to_be_checked()
    model.replies.append(Reply(["Peregrines ", "[1]."]))
    ask(page, "Which bird of prey is the fastest?")
    expect(last_answer(page).locator(".answer-text")).to_contain_text("Peregrines")
    expect_idle(page)
    assert "document_ids" not in sent[-1]


def test_an_answer_shows_how_it_was_found(page: Page, falcons, model):
    """Under an answer: the searches, the passages chosen with what found them, the timings."""
    model.replies.append(Reply(["Peregrines ", "dive ", "fast ", "[1]."]))
    ask(page, "How fast does a peregrine falcon dive?")
    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_contain_text("fast [1].")
    expect_idle(page)

    answer.get_by_role("button", name="How this answer was found").click()

    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Searched for: “How fast does a peregrine falcon dive?”")
    chosen = dialog.locator("table").first
    expect(chosen.locator("tr").nth(1)).to_contain_text("[1]")
    expect(chosen.locator("tr").nth(1)).to_contain_text("falcons.txt")
    expect(chosen.locator("tr").nth(1)).to_contain_text("vector")
    expect(dialog.locator("summary", has_text="fulltext")).to_have_count(1)
    expect(dialog).to_contain_text("query embedding")
    screenshot(page, "chat-trace.png")
    page.keyboard.press("Escape")

    page.reload()  # a reopened conversation offers it too
    page.locator("#conversations button.conversation").first.click()
    page.get_by_role("button", name="How this answer was found").click()
    expect(page.get_by_role("dialog")).to_contain_text("falcons.txt")


def test_chosen_documents_are_compared_each_searched_on_its_own(page: Page, app: LiveApp, model):
    """With two documents ticked, Compare sends them to be searched one by one."""
    falcons = upload(page, app, "falcons.txt", FALCONS.encode())
    kestrels = upload(page, app, "kestrels.md", b"Kestrels hover in the wind while hunting voles.")
    expect_ready(page, "falcons", "kestrels")
    sent: list[dict] = []
    page.on(
        "request",
        lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/stream/") else None,
    )
    compare = page.get_by_role("button", name="Compare them")
    page.get_by_label("Ask about falcons only").check()
    expect(compare).to_be_hidden()  # one document is nothing to compare
    page.get_by_label("Ask about kestrels only").check()
    model.replies.append(Reply(["Falcons ", "dive ", "[1]; ", "kestrels ", "hover ", "[2]."]))

    page.get_by_label("Ask a question").fill("How do they hunt?")
    compare.click()

    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_contain_text("kestrels hover [2].")
    expect_idle(page)
    assert sent[-1]["compare"] is True
    assert set(sent[-1]["document_ids"]) == {falcons["id"], kestrels["id"]}
    expect(page.locator(".question").last).to_contain_text("Comparing")
    names = answer.locator(".sources .citations strong").all_text_contents()
    assert set(names) == {"falcons.txt", "kestrels.md"}, names
    screenshot(page, "chat-compare.png")
