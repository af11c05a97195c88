"""The REST API as a client uses it: JWT, documents, conversations, schema."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from queries.models import Message
from retrieval.models import Document
from retrieval.tests import samples
from tests.openai_server import Reply

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def login(api: APIClient, username: str, password: str) -> dict:
    response = api.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def as_user(api: APIClient, tokens: dict) -> APIClient:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return api


def test_a_client_gets_refreshes_and_logs_out_its_tokens(api, alice):
    tokens = login(api, "alice", "alice-pass-123")

    refreshed = api.post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200 and set(refreshed.json()) == {"access", "refresh"}
    reused = api.post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert reused.status_code == 401 and reused.json()["code"] == "token_not_valid"

    new_refresh = refreshed.json()["refresh"]
    out = api.post("/api/auth/logout/", {"refresh": new_refresh}, format="json")
    assert out.status_code == 205
    after = api.post("/api/auth/token/refresh/", {"refresh": new_refresh}, format="json")
    assert after.status_code == 401


def test_wrong_password_is_401_with_a_sentence(api, alice):
    response = api.post(
        "/api/auth/token/", {"username": "alice", "password": "nope"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["detail"] and response.json()["code"]


def test_registration_only_when_open(api, settings):
    body = {"username": "carol", "password": "a-long-unusual-pass-42", "email": "c@example.com"}
    closed = api.post("/api/auth/register/", body, format="json")
    assert closed.status_code == 403 and closed.json()["code"] == "registration_closed"

    settings.REGISTRATION_OPEN = True
    weak = api.post("/api/auth/register/", {**body, "password": "123"}, format="json")
    assert weak.status_code == 400 and "password" in weak.json()
    created = api.post("/api/auth/register/", body, format="json")
    assert created.status_code == 201
    assert login(api, "carol", "a-long-unusual-pass-42")["access"]
    taken = api.post("/api/auth/register/", body, format="json")
    assert taken.status_code == 400 and "username" in taken.json()


def upload(api: APIClient, name: str, data: bytes, **extra):
    return api.post(
        "/api/documents/", {"file": SimpleUploadedFile(name, data), **extra}, format="multipart"
    )


def test_a_client_uploads_lists_inspects_and_deletes_documents(api, alice):
    as_user(api, login(api, "alice", "alice-pass-123"))

    created = upload(api, "apollo.pdf", samples.pdf(), title="Apollo")
    assert created.status_code == 201
    document = created.json()
    assert document["status"] == "queued" and document["title"] == "Apollo"
    assert set(document) >= {
        "id",
        "title",
        "filename",
        "status",
        "progress",
        "error",
        "pages",
        "chunks",
        "created",
    }

    listed = api.get("/api/documents/").json()
    assert [d["id"] for d in listed["results"]] == [document["id"]]
    assert api.get(f"/api/documents/{document['id']}/").json()["filename"] == "apollo.pdf"

    assert api.delete(f"/api/documents/{document['id']}/").status_code == 204
    assert not Document.objects.exists()


def test_a_passage_read_from_a_photo_is_cited_as_read_by_ocr(api, alice):
    as_user(api, login(api, "alice", "alice-pass-123"))
    upload(api, "whiteboard.jpg", samples.picture(format="JPEG"))
    typed = "The filter bar moves to the top of the dashboard, Owen said at the design review."
    upload(api, "notes.txt", typed.encode())
    call_command("worker", batch=True)

    answer = api.post("/api/query/", {"query": "Where does the filter bar move?"}, format="json")

    assert answer.status_code == 200, answer.content
    read_by_ocr = {c["filename"]: c["ocr"] for c in answer.json()["citations"]}
    assert read_by_ocr == {"whiteboard.jpg": True, "notes.txt": False}


def test_a_passage_of_a_labelled_pdf_page_is_cited_with_its_printed_label(api, alice):
    as_user(api, login(api, "alice", "alice-pass-123"))
    upload(api, "preface.pdf", samples.labelled_pdf(roman=3))  # pages i, ii, iii
    rocket = "The Saturn V rocket was stacked in the Vehicle Assembly Building before launch."
    upload(api, "notes.pdf", samples.pdf([rocket]))  # no labels
    call_command("worker", batch=True)

    answer = api.post("/api/query/", {"query": "Which rocket launched Apollo?"}, format="json")

    assert answer.status_code == 200, answer.content
    cited = [(c["filename"], c["page"], c["page_label"]) for c in answer.json()["citations"]]
    assert ("preface.pdf", 3, "iii") in cited and ("notes.pdf", 1, None) in cited
    roman = {1: "i", 2: "ii", 3: "iii"}
    assert all(label == roman[page] for name, page, label in cited if name == "preface.pdf")
    stored = Message.objects.get(pk=answer.json()["message_id"]).citations
    assert [(c["filename"], c["page"], c["page_label"]) for c in stored] == cited
    conversation = api.get(f"/api/conversations/{answer.json()['conversation_id']}/").json()
    assert conversation["messages"][-1]["citations"] == stored
    for cite in answer.json()["citations"]:
        passage = api.get(f"/api/documents/{cite['document_id']}/passages/{cite['chunk_id']}/")
        assert (passage.json()["page"], passage.json()["page_label"]) == (
            cite["page"],
            cite["page_label"],
        )


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("tool.txt", b"\x7fELF\x02\x01\x01" + bytes(100), 415, "unsupported_type"),
        ("bomb.docx", samples.zip_bomb_docx(), 400, "zip_bomb"),
        ("fake.docx", samples.fake_docx(), 400, "corrupt_file"),
    ],
)
def test_bad_files_are_refused_with_a_reason(api, alice, name, data, status, code):
    as_user(api, login(api, "alice", "alice-pass-123"))
    response = upload(api, name, data)
    assert response.status_code == status and response.json()["code"] == code
    assert not Document.objects.exists()


def test_an_empty_or_missing_file_is_a_field_error(api, alice):
    as_user(api, login(api, "alice", "alice-pass-123"))
    assert "file" in upload(api, "empty.txt", b"").json()
    missing = api.post("/api/documents/", {"title": "x"}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()


def test_a_file_over_the_limit_is_413(api, alice, settings):
    settings.MAX_UPLOAD_MB = 1
    as_user(api, login(api, "alice", "alice-pass-123"))
    response = upload(api, "big.txt", b"words " * 400_000)
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"


def test_the_same_file_twice_is_409_pointing_at_the_first(api, alice):
    as_user(api, login(api, "alice", "alice-pass-123"))
    first = upload(api, "a.md", samples.MARKDOWN.encode()).json()
    again = upload(api, "b.md", samples.MARKDOWN.encode())
    assert again.status_code == 409
    assert again.json()["document_id"] == first["id"] and again.json()["code"] == "duplicate"


def test_another_users_document_is_404_everywhere(api, alice, bob):
    as_user(api, login(api, "alice", "alice-pass-123"))
    alices = upload(api, "a.md", samples.MARKDOWN.encode()).json()["id"]

    as_user(api, login(api, "bob", "bob-pass-123"))
    assert api.get(f"/api/documents/{alices}/").status_code == 404
    assert api.delete(f"/api/documents/{alices}/").status_code == 404
    assert api.get("/api/documents/").json()["results"] == []
    assert Document.objects.filter(pk=alices).exists()


def test_conversations_are_listed_newest_first_and_a_follow_up_keeps_its_place(
    api, alice, alice_falcons
):
    as_user(api, login(api, "alice", "alice-pass-123"))

    def ask(query: str, conversation: str | None = None) -> str:
        body = {"query": query} | ({"conversation_id": conversation} if conversation else {})
        response = api.post("/api/query/", body, format="json")
        assert response.status_code == 200, response.content
        return response.json()["conversation_id"]

    first = ask("How fast is a peregrine falcon?")
    second = ask("Where do peregrine falcons nest?")
    assert ask("And what did falconers train them to hunt?", first) == first

    listed = api.get("/api/conversations/").json()["results"]
    assert [c["id"] for c in listed] == [second, first]
    assert listed[1]["updated"] > listed[0]["updated"]  # used last, still listed second


def test_a_citation_shows_the_part_of_its_passage_the_question_is_about(api, alice, alice_falcons):
    """The falcons passage opens with their speed; the falconers come after 200 characters."""
    as_user(api, login(api, "alice", "alice-pass-123"))

    asked = {"query": "What did falconers train peregrines to hunt?"}
    cited = api.post("/api/query/", asked, format="json").json()["citations"][0]

    assert cited["chunk_text"].startswith("...")
    assert "Falconers in the Middle Ages trained peregrines to hunt ducks" in cited["chunk_text"]
    assert len(cited["chunk_text"]) <= 200
    speed = {"query": "How fast is a peregrine falcon?"}
    cited = api.post("/api/query/", speed, format="json").json()["citations"][0]
    assert cited["chunk_text"].startswith("The peregrine falcon is the fastest bird")


def test_a_cited_passage_opens_in_full_for_its_owner_only(api, alice, bob, alice_falcons):
    as_user(api, login(api, "alice", "alice-pass-123"))
    answer = api.post("/api/query/", {"query": "How fast is a peregrine falcon?"}, format="json")
    cited = answer.json()["citations"][0]
    path = f"/api/documents/{cited['document_id']}/passages/{cited['chunk_id']}/"

    passage = api.get(path)

    assert passage.status_code == 200, passage.content
    body = passage.json()
    assert body["chunk_id"] == cited["chunk_id"] and body["filename"] == "falcons.txt"
    assert cited["chunk_text"].removeprefix("...").removesuffix("...") in body["text"]
    assert len(body["text"]) > len(cited["chunk_text"])  # the whole passage, not the snippet
    gone = api.get(f"/api/documents/{cited['document_id']}/passages/{cited['chunk_id']}x/")
    assert gone.status_code == 404 and "no longer" in gone.json()["detail"]

    as_user(api, login(api, "bob", "bob-pass-123"))
    assert api.get(path).status_code == 404


def test_a_conversation_is_renamed_by_its_owner_only(api, alice, bob, alice_falcons):
    as_user(api, login(api, "alice", "alice-pass-123"))
    asked = api.post("/api/query/", {"query": "Where do falcons nest?"}, format="json")
    path = f"/api/conversations/{asked.json()['conversation_id']}/"

    renamed = api.patch(path, {"title": "  Nesting  "}, format="json")

    assert renamed.status_code == 200, renamed.content
    assert api.get("/api/conversations/").json()["results"][0]["title"] == "Nesting"
    assert api.patch(path, {"title": ""}, format="json").status_code == 400
    assert api.patch(path, {"title": "x" * 201}, format="json").status_code == 400
    assert api.put(path, {"title": "Whole"}, format="json").status_code == 405

    as_user(api, login(api, "bob", "bob-pass-123"))
    assert api.patch(path, {"title": "Mine now"}, format="json").status_code == 404
    assert api.delete(path).status_code == 404
    as_user(api, login(api, "alice", "alice-pass-123"))
    assert api.get(path).json()["title"] == "Nesting"


def test_an_answer_keeps_a_trace_of_how_it_was_found_for_its_owner(api, alice, bob, alice_falcons):
    as_user(api, login(api, "alice", "alice-pass-123"))
    answer = api.post("/api/query/", {"query": "How fast is a peregrine falcon?"}, format="json")
    body = answer.json()
    path = f"/api/conversations/{body['conversation_id']}/messages/{body['message_id']}/trace/"

    trace = api.get(path)

    assert trace.status_code == 200, trace.content
    found = trace.json()
    assert found["question"] == "How fast is a peregrine falcon?"
    modes = {search["mode"] for search in found["searches"]}
    assert {"vector", "fulltext"} <= modes
    cited = [c["chunk_id"] for c in body["citations"]]
    assert [c["chunk_id"] for c in found["chosen"]] == cited  # [n] in the trace is [n] cited
    assert all(c["found_by"] for c in found["chosen"])
    vector = next(s for s in found["searches"] if s["mode"] == "vector")
    assert vector["hits"][0]["similarity"] > 0.3 and vector["hits"][0]["filename"] == "falcons.txt"
    steps, since = found["timings_ms"], found["since_question_ms"]
    assert {"turn stored", "query embedding", "searches", "retrieval"} <= set(steps)
    assert {"passages found", "first token", "answer ended"} <= set(since)
    assert 0 < steps["query embedding"] <= steps["retrieval"] <= since["first token"]
    question = Message.objects.get(conversation_id=body["conversation_id"], role="user")
    no_trace = f"/api/conversations/{body['conversation_id']}/messages/{question.pk}/trace/"
    assert api.get(no_trace).status_code == 404

    as_user(api, login(api, "bob", "bob-pass-123"))
    assert api.get(path).status_code == 404


@pytest.mark.slow
@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        ({"status": 500}, 502, "generation_failed"),
        ({"cut_after": 1}, 502, "generation_failed"),
        ({"stall_after": 1}, 504, "generation_timeout"),
    ],
)
def test_a_failing_model_gives_the_json_twin_a_gateway_error_and_saves_the_turn_as_failed(
    api, alice, alice_falcons, openai_configured, settings, reply, status, code
):
    settings.OPENAI_STREAM_TIMEOUT = 1
    openai_configured.replies.extend([Reply(["The ", "falcon"], **reply)] * 2)  # and its retry
    as_user(api, login(api, "alice", "alice-pass-123"))

    response = api.post("/api/query/", {"query": "Tell me about falcons"}, format="json")

    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and "Traceback" not in body["detail"]
    assert list(Message.objects.filter(role="assistant").values_list("status", flat=True)) == [
        "failed"
    ]


def test_a_model_is_asked_to_say_when_the_question_takes_for_granted_what_is_not_there(
    api, alice, alice_falcons, openai_configured
):
    """A wrong figure in a question is corrected, not explained: the model is told so,
    in the system message, above the passages."""
    openai_configured.replies.append(Reply(["No passage says 500 km/h [1]."]))
    as_user(api, login(api, "alice", "alice-pass-123"))

    api.post("/api/query/", {"query": "Why do falcons dive at 500 km/h?"}, format="json")

    (request,) = [r for r in openai_configured.requests if "chat" in r["path"]]
    system = request["body"]["messages"][0]
    assert system["role"] == "system"
    assert "takes for granted something the passages do not say" in system["content"]
    assert "say so first, then give what they do say" in system["content"]


def test_unknown_api_paths_answer_json(api, alice):
    as_user(api, login(api, "alice", "alice-pass-123"))
    response = api.get("/api/nothing-here/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_schema_and_docs_are_served_with_local_assets(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/query/",
        "/api/query/stream/",
        "/api/documents/",
        "/api/conversations/{id}/",
        "/api/auth/token/",
    ]:
        assert path in paths
    created = paths["/api/documents/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("/Document")
    # An upload is a multipart body whose file is a file part (binary), not a URL.
    upload = paths["/api/documents/"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]
    upload_schema = upload["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    file_field = schema.json()["components"]["schemas"][upload_schema]["properties"]["file"]
    assert file_field == {**file_field, "type": "string", "format": "binary"}
    assert list(paths["/api/auth/logout/"]["post"]["responses"]) == ["205"]
    registered = paths["/api/auth/register/"]["post"]["responses"]["201"]
    assert "content" in registered
    bearer_scheme = schema.json()["components"]["securitySchemes"]["jwtAuth"]
    assert (bearer_scheme["type"], bearer_scheme["scheme"]) == ("http", "bearer")
    assert {"jwtAuth": []} in paths["/api/documents/"]["get"]["security"]
    docs = api.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/" in docs
