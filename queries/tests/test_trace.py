"""How an answer was found, kept with it: the owner reads it over the API, staff in admin."""

from __future__ import annotations

import pytest
from django.test import Client

from queries.answering import Question, aanswer
from queries.models import Message
from retrieval.loops import run_sync

pytestmark = pytest.mark.django_db(transaction=True)


def ask(owner, query: str, conversation_id=None) -> dict:
    return run_sync(aanswer, Question(owner.pk, query, conversation_id=conversation_id))


def test_a_follow_up_keeps_its_rewrite_and_the_searches_that_ran_on_it(alice, alice_falcons):
    first = ask(alice, "Where do peregrine falcons nest?")
    follow_up = ask(alice, "and what about their speed?", first["conversation_id"])

    trace = Message.objects.get(pk=follow_up["message_id"]).trace

    assert trace["question"] != "and what about their speed?"  # the rewrite was searched
    assert "falcon" in trace["question"].lower()
    assert "question rewritten" in trace["timings_ms"]
    assert all(s["hits"] for s in trace["searches"])  # each search kept what it found


def test_a_follow_up_that_names_its_own_subject_is_searched_as_asked(alice, alice_falcons):
    """ "And ..." carries the conversation on, but a question that names what it asks
    about needs none of the last one's words: borrowed, they pull its passages in."""
    from queries.tests.conftest import HARBOUR
    from tests.documents import ingest

    harbour = ingest(alice, HARBOUR, "harbour.txt")
    first = ask(alice, "Where do peregrine falcons nest?")
    question = "And who built the old harbour of Valletta in Malta?"

    follow_up = ask(alice, question, first["conversation_id"])

    trace = Message.objects.get(pk=follow_up["message_id"]).trace
    assert trace["question"] == question
    assert {c["document_id"] for c in follow_up["citations"]} == {str(harbour.pk)}
    assert "Knights of St John" in follow_up["answer"]
    carried_on = ask(alice, "And what did its walls protect, and when?", first["conversation_id"])
    assert "harbour" in Message.objects.get(pk=carried_on["message_id"]).trace["question"]
    short = ask(alice, "Who built the harbour?", first["conversation_id"])  # complete
    assert Message.objects.get(pk=short["message_id"]).trace["question"] == "Who built the harbour?"
    scrap = ask(alice, "and in 1565?", first["conversation_id"])
    assert "1565" in (searched := Message.objects.get(pk=scrap["message_id"]).trace["question"])
    assert searched != "and in 1565?"


def test_staff_read_an_answers_trace_in_admin_and_others_cannot(alice, alice_falcons, admin_user):
    answer = ask(alice, "How fast is a peregrine falcon?")
    page = f"/admin/queries/message/{answer['message_id']}/change/"
    staff = Client()
    staff.force_login(admin_user)

    shown = staff.get(page)

    assert shown.status_code == 200
    text = shown.content.decode()
    assert "How fast is a peregrine falcon?" in text  # what was searched for
    assert "query embedding" in text and "vector" in text and "fulltext" in text
    for cited in answer["citations"]:
        assert cited["chunk_id"] in text
    conversation = staff.get(f"/admin/queries/conversation/{answer['conversation_id']}/change/")
    assert "How it was found" in conversation.content.decode()

    user = Client()
    user.force_login(alice)  # not staff
    assert user.get(page).status_code == 302  # sent to the admin's sign-in
