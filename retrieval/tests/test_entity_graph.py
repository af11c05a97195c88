"""A document's entity graph over the API: its names, the other documents sharing them,
and the passages that mention one; only ever the caller's own."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.documents import ingest

pytestmark = pytest.mark.django_db(transaction=True)

BRIEF = (
    "Project Kite launch brief. Nadia Rahimi owns the launch of Kite Planner. "
    "The launch video is made by Pixelforge Studio, with Faye Delacroix directing."
)
QUOTE = (
    "Quotation from Pixelforge Studio for the Kite Planner launch video, sent by Faye Delacroix."
)
HARBOUR = "Bob's note: Pixelforge Studio also quoted for the harbour museum film."


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_documents_graph_lists_its_names_and_the_documents_sharing_them(alice, bob):
    brief = ingest(alice, BRIEF, "brief.txt")
    quote = ingest(alice, QUOTE, "quote.txt")
    ingest(bob, HARBOUR, "harbour.txt")
    api = client_of(alice)

    graph = api.get(f"/api/documents/{brief.pk}/graph/").json()

    names = {e["name"]: e for e in graph["entities"]}
    assert graph["document"] == {"id": str(brief.pk), "title": brief.title}
    pixelforge = next(e for n, e in names.items() if "Pixelforge" in n)
    assert pixelforge["mentions"] >= 1
    assert [d["id"] for d in pixelforge["documents"]] == [str(quote.pk)]  # not Bob's harbour
    assert graph["documents"][0]["id"] == str(quote.pk)
    assert graph["documents"][0]["shared_entities"] >= 2  # Pixelforge and Faye at least
    assert any("Nadia" in n for n in names)

    passages = api.get(
        f"/api/documents/{brief.pk}/graph/passages/", {"entity": pixelforge["key"]}
    ).json()
    assert {p["filename"] for p in passages} == {"brief.txt", "quote.txt"}
    assert all("Pixelforge" in p["text"] for p in passages)


def test_another_users_graph_and_passages_are_not_shown(alice, bob):
    brief = ingest(alice, BRIEF, "brief.txt")
    ingest(alice, QUOTE, "quote.txt")
    harbour = ingest(bob, HARBOUR, "harbour.txt")
    alices = client_of(alice).get(f"/api/documents/{brief.pk}/graph/").json()
    key = next(e["key"] for e in alices["entities"] if "Pixelforge" in e["name"])
    api = client_of(bob)

    assert api.get(f"/api/documents/{brief.pk}/graph/").status_code == 404
    assert api.get(f"/api/documents/{brief.pk}/graph/passages/", {"entity": key}).status_code == 404
    # Through his own document, her entity's key finds none of her passages.
    theirs = api.get(f"/api/documents/{harbour.pk}/graph/passages/", {"entity": key}).json()
    assert theirs == []
    own = api.get(f"/api/documents/{harbour.pk}/graph/").json()
    assert own["documents"] == [] and all(not e["documents"] for e in own["entities"])


def test_the_graph_page_is_the_owners_only(alice, bob, client):
    brief = ingest(alice, BRIEF, "brief.txt")
    client.force_login(alice)
    page = client.get(f"/documents/{brief.pk}/graph/")
    assert page.status_code == 200 and "Graph of" in page.content.decode()
    client.force_login(bob)
    assert client.get(f"/documents/{brief.pk}/graph/").status_code == 404
