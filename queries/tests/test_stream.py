"""POST /api/query/stream/: events in the order DESIGN.md gives, from real services."""

from __future__ import annotations

import asyncio
import json

import pytest

from queries.models import Conversation, Message
from queries.prompts import I_DONT_KNOW
from queries.tests.conftest import post_stream, read_events
from tests.openai_server import Reply

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def test_a_question_streams_status_citations_tokens_and_done(
    async_client, alice_falcons, alice_auth
):
    response = await post_stream(
        async_client, {"query": "How fast can a peregrine falcon dive?"}, alice_auth
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response["Cache-Control"] == "no-cache" and response["X-Accel-Buffering"] == "no"
    events, _ = await read_events(response)
    names = [e.event for e in events]
    assert names[:3] == ["status", "citations", "status"]
    assert json.loads(events[0].data) == {"stage": "retrieving"}
    assert json.loads(events[2].data) == {"stage": "generating"}
    assert set(names[3:-1]) == {"token"} and len(names[3:-1]) > 3  # word by word
    assert names[-1] == "done"

    citations = json.loads(events[1].data)
    assert citations[0]["n"] == 1
    assert citations[0]["document_id"] == str(alice_falcons.pk)
    assert citations[0]["filename"] == "falcons.txt"
    assert (citations[0]["page"], citations[0]["page_label"]) == (None, None)  # a text file
    assert len(citations[0]["chunk_text"]) <= 200
    assert 0 < citations[0]["relevance_score"] <= 1
    answer = "".join(e.data for e in events if e.event == "token")
    assert "300 km/h" in answer and "[1]" in answer

    done = json.loads(events[-1].data)
    assert response["X-Conversation-Id"] == done["conversation_id"]  # known before any token
    message = await Message.objects.aget(pk=done["message_id"])
    assert str(message.conversation_id) == done["conversation_id"]
    assert (message.text, message.status) == (answer, "complete")
    assert message.citations == citations


async def test_no_relevant_passage_means_i_dont_know_and_no_model_call(
    async_client, alice_falcons, alice_auth, openai_configured
):
    response = await post_stream(
        async_client, {"query": "What is the boiling point of tungsten?"}, alice_auth
    )

    events, _ = await read_events(response)
    assert [e.event for e in events] == ["status", "status", "token", "done"]
    assert events[2].data == I_DONT_KNOW
    assert not [r for r in openai_configured.requests if "chat" in r["path"]]


async def test_chat_openai_streams_tokens_and_invented_citations_are_removed(
    async_client, alice_falcons, alice_auth, openai_configured
):
    tokens = ["It dives at ", "over 300 km/h", " [1]", " and nests on cliffs [", "9].", "\n"]
    openai_configured.replies.append(Reply(tokens))

    response = await post_stream(
        async_client, {"query": "How fast does the peregrine falcon dive?"}, alice_auth
    )

    events, _ = await read_events(response)
    answer = "".join(e.data for e in events if e.event == "token")
    assert answer == "It dives at over 300 km/h [1] and nests on cliffs .\n"
    assert json.loads(events[-1].data)["finish_reason"] == "stop"
    chat = [r["body"] for r in openai_configured.requests if "chat" in r["path"]]
    assert chat[0]["stream"] is True and chat[0]["model"] == "test-model"
    assert "300 km/h" in chat[0]["messages"][-2]["content"]  # the passages, quoted as data


@pytest.mark.parametrize("failure", [{"fail_after": 2}, {"cut_after": 2}])
async def test_an_upstream_failure_mid_stream_ends_with_an_error_event(
    async_client, alice_falcons, alice_auth, openai_configured, failure
):
    openai_configured.replies.append(Reply(["The ", "falcon ", "is ", "fast"], **failure))

    response = await post_stream(async_client, {"query": "Tell me about falcons"}, alice_auth)

    events, _ = await read_events(response)
    assert events[-1].event == "error"
    error = json.loads(events[-1].data)
    assert set(error) == {"message", "code"} and "Traceback" not in error["message"]
    assert "done" not in [e.event for e in events]
    message = await Message.objects.filter(role="assistant").aget()
    assert message.status == "failed"


async def test_a_model_server_that_refuses_twice_ends_the_stream_with_an_error_event(
    async_client, alice_falcons, alice_auth, openai_configured
):
    openai_configured.replies.extend([Reply([], status=503), Reply([], status=503)])

    response = await post_stream(async_client, {"query": "Tell me about falcons"}, alice_auth)

    events, _ = await read_events(response)
    assert events[-1].event == "error"
    assert json.loads(events[-1].data)["code"] == "generation_failed"
    streamed = [r for r in openai_configured.requests if r["body"].get("stream")]
    assert len(streamed) == 2  # one retry, then the reader is told
    assert await Message.objects.filter(role="assistant", status="failed").aexists()


async def test_a_refusal_then_an_answer_is_retried_and_streams(
    async_client, alice_falcons, alice_auth, openai_configured
):
    openai_configured.replies.extend([Reply([], status=503), Reply(["Fast ", "[1]"])])

    response = await post_stream(async_client, {"query": "Tell me about falcons"}, alice_auth)

    events, _ = await read_events(response)
    assert "".join(e.data for e in events if e.event == "token") == "Fast [1]"
    assert events[-1].event == "done"


async def test_a_model_that_stalls_mid_answer_ends_with_an_error_and_keeps_the_part_sent(
    async_client, alice_falcons, alice_auth, openai_configured, settings
):
    settings.OPENAI_STREAM_TIMEOUT = 1
    openai_configured.replies.append(Reply(["The ", "falcon ", "is ", "fast"], stall_after=2))

    response = await post_stream(async_client, {"query": "Tell me about falcons"}, alice_auth)

    # The server stays silent for a minute: only the stream timeout ends this early.
    events, _ = await asyncio.wait_for(read_events(response), 20)
    assert "".join(e.data for e in events if e.event == "token") == "The falcon "
    assert events[-1].event == "error"
    assert json.loads(events[-1].data)["code"] == "generation_timeout"
    message = await Message.objects.filter(role="assistant").aget()
    assert (message.status, message.text) == ("failed", "The falcon ")


async def test_an_answer_past_its_deadline_ends_with_an_error_and_the_model_is_hung_up_on(
    async_client, alice_falcons, alice_auth, openai_configured, settings
):
    settings.ANSWER_TIMEOUT = 1
    words = [f"w{n} " for n in range(40)]
    openai_configured.replies.append(Reply(words, delay=0.3))  # never silent, never done

    response = await post_stream(async_client, {"query": "Tell me about falcons"}, alice_auth)

    events, _ = await asyncio.wait_for(read_events(response), 20)
    sent = "".join(e.data for e in events if e.event == "token")
    assert 0 < len(sent.split()) < 10
    assert events[-1].event == "error"
    error = json.loads(events[-1].data)
    assert error["code"] == "generation_timeout" and "too long" in error["message"]
    message = await Message.objects.filter(role="assistant").aget()
    assert (message.status, message.text) == ("failed", sent)
    # Hung up: the model server stops writing (it would take 12 s to send every word).
    written = openai_configured.tokens_sent
    await asyncio.sleep(1.5)
    assert openai_configured.tokens_sent <= written + 1 < len(words)


async def test_the_model_is_asked_for_at_most_the_configured_answer_length(
    async_client, alice_falcons, alice_auth, openai_configured, settings
):
    settings.OPENAI_MAX_TOKENS = 77
    openai_configured.replies.append(Reply(["Fast [1]"]))

    response = await post_stream(async_client, {"query": "Tell me about falcons"}, alice_auth)

    await read_events(response)
    chat = [r["body"] for r in openai_configured.requests if r["body"].get("stream")]
    assert chat[0]["max_completion_tokens"] == 77


async def test_a_slow_model_gets_keep_alive_comments_and_still_finishes(
    async_client, alice_falcons, alice_auth, openai_configured, monkeypatch
):
    from queries import stream

    monkeypatch.setattr(stream, "KEEP_ALIVE_SECONDS", 0.2)
    openai_configured.replies.append(Reply(["Slow ", "but ", "sure [1]"], delay=0.5))

    response = await post_stream(async_client, {"query": "How fast are falcons?"}, alice_auth)

    events, parser = await read_events(response)
    assert "keep-alive" in parser.comments
    assert "".join(e.data for e in events if e.event == "token") == "Slow but sure [1]"
    assert events[-1].event == "done"


async def test_a_follow_up_uses_the_conversation(async_client, alice_falcons, alice_auth):
    first = await post_stream(
        async_client, {"query": "Where do peregrine falcons nest?"}, alice_auth
    )
    events, _ = await read_events(first)
    conversation_id = json.loads(events[-1].data)["conversation_id"]

    second = await post_stream(
        async_client,
        {"query": "and in cities?", "conversation_id": conversation_id},
        alice_auth,
    )
    events, _ = await read_events(second)

    assert json.loads(events[-1].data)["conversation_id"] == conversation_id
    answer = "".join(e.data for e in events if e.event == "token")
    assert "buildings" in answer
    conversation = await Conversation.objects.aget(pk=conversation_id)
    roles = [m.role async for m in conversation.messages.order_by("created")]
    assert roles == ["user", "assistant", "user", "assistant"]


async def test_document_ids_restrict_the_search(async_client, alice, alice_auth, alice_falcons):
    from asgiref.sync import sync_to_async

    from queries.tests.conftest import HARBOUR
    from tests.documents import ingest

    harbour = await sync_to_async(ingest)(alice, HARBOUR, "harbour.txt")
    both = "Who built the harbour of Valletta, and how fast does a peregrine falcon dive?"

    async def cited(body) -> set[str]:
        response = await post_stream(async_client, body, alice_auth)
        assert response.status_code == 200, response.content
        events, _ = await read_events(response)
        return {
            c["document_id"] for e in events if e.event == "citations" for c in json.loads(e.data)
        }

    assert await cited({"query": both}) == {str(harbour.pk), str(alice_falcons.pk)}
    assert await cited({"query": both, "document_ids": [str(alice_falcons.pk)]}) == {
        str(alice_falcons.pk)
    }


async def _falcon_conversation(async_client, auth, openai_configured) -> str:
    openai_configured.replies.append(Reply(["They nest on cliffs [1]."]))
    first = await post_stream(async_client, {"query": "Where do peregrine falcons nest?"}, auth)
    events, _ = await read_events(first)
    return json.loads(events[-1].data)["conversation_id"]


async def _follow_up(async_client, auth, conversation_id: str):
    return await post_stream(
        async_client,
        {"query": "and how fast are they?", "conversation_id": conversation_id},
        auth,
    )


async def test_with_a_model_follow_ups_are_rewritten_and_history_is_sent(
    async_client, alice_falcons, alice_auth, openai_configured
):
    conversation_id = await _falcon_conversation(async_client, alice_auth, openai_configured)
    openai_configured.completions.append(Reply(["How fast do peregrine falcons dive?"]))
    openai_configured.replies.append(Reply(["Over 300 km/h [1]."]))

    events, _ = await read_events(await _follow_up(async_client, alice_auth, conversation_id))

    chat = [r["body"] for r in openai_configured.requests if "chat" in r["path"]]
    rewrite, answer = chat[1], chat[2]
    assert rewrite["messages"][-1]["content"] == "and how fast are they?"
    assert "Where do peregrine falcons nest?" in json.dumps(rewrite["messages"])
    roles = [m["role"] for m in answer["messages"]]
    assert roles == ["system", "user", "assistant", "user", "user"]
    assert answer["messages"][2]["content"] == "They nest on cliffs [1]."
    # The passages travel as quoted data in a message of their own, not as instructions.
    assert answer["messages"][3]["content"].startswith('<passages>\n<passage n="1"')
    assert "300 km/h" in answer["messages"][3]["content"]
    assert "300 km/h" not in answer["messages"][0]["content"]
    assert answer["messages"][4]["content"] == "and how fast are they?"
    cited = json.loads(next(e.data for e in events if e.event == "citations"))
    assert "300 km/h" in cited[0]["chunk_text"]


async def test_a_failed_follow_up_rewrite_ends_the_stream_with_an_error_event(
    async_client, alice_falcons, alice_auth, openai_configured
):
    conversation_id = await _falcon_conversation(async_client, alice_auth, openai_configured)
    openai_configured.completions.append(Reply([], status=400))

    response = await _follow_up(async_client, alice_auth, conversation_id)

    assert response.status_code == 200
    events, _ = await read_events(response)
    assert [e.event for e in events] == ["status", "error"]
    assert json.loads(events[0].data) == {"stage": "retrieving"}
    assert json.loads(events[1].data)["code"] == "generation_failed"
    conversation = await Conversation.objects.aget(pk=conversation_id)
    turns = [(m.role, m.status) async for m in conversation.messages.order_by("created")]
    assert turns[-2:] == [("user", "complete"), ("assistant", "failed")]


async def test_keep_alive_also_covers_a_slow_follow_up_rewrite(
    async_client, alice_falcons, alice_auth, openai_configured, monkeypatch
):
    from queries import stream

    conversation_id = await _falcon_conversation(async_client, alice_auth, openai_configured)
    monkeypatch.setattr(stream, "KEEP_ALIVE_SECONDS", 0.2)
    openai_configured.completions.append(Reply(["How fast do peregrine falcons dive?"], delay=0.8))
    openai_configured.replies.append(Reply(["Over 300 km/h [1]."]))

    response = await _follow_up(async_client, alice_auth, conversation_id)

    events, parser = await read_events(response)
    assert "keep-alive" in parser.comments
    assert [e.event for e in events][:3] == ["status", "citations", "status"]
    assert events[-1].event == "done"


async def test_the_json_answer_is_a_502_when_the_model_fails(
    async_client, alice_falcons, alice_auth, openai_configured
):
    openai_configured.replies.append(Reply(["The ", "falcon"], fail_after=1))

    response = await async_client.post(
        "/api/query/",
        data={"query": "Tell me about falcons"},
        content_type="application/json",
        headers=alice_auth,
    )

    assert response.status_code == 502
    assert response.json() == {
        "detail": "The language model did not answer. Please try again in a moment.",
        "code": "generation_failed",
    }
    assert (await Message.objects.filter(role="assistant").aget()).status == "failed"


async def test_a_base_url_without_a_key_is_enough_for_a_local_server(
    async_client, alice_falcons, alice_auth, openai_configured, settings
):
    settings.OPENAI_API_KEY = None  # llama.cpp, Ollama and vLLM need none
    openai_configured.replies.append(Reply(["From ", "the ", "server [1]."]))

    response = await post_stream(async_client, {"query": "How fast are falcons?"}, alice_auth)

    events, _ = await read_events(response)
    assert "".join(e.data for e in events if e.event == "token") == "From the server [1]."


async def test_a_crlf_split_between_tokens_is_one_line_break_on_the_wire_and_saved(
    async_client, alice_falcons, alice_auth, openai_configured
):
    openai_configured.replies.append(Reply(["Falcons\r", "\nare fast\r\n", "\r", "[1]"]))

    response = await post_stream(async_client, {"query": "How fast are falcons?"}, alice_auth)

    events, _ = await read_events(response)
    answer = "".join(e.data for e in events if e.event == "token")
    assert answer == "Falcons\nare fast\n\n[1]"
    saved = await Message.objects.aget(pk=json.loads(events[-1].data)["message_id"])
    assert saved.text == answer
