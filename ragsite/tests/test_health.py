"""GET /healthz reports the database and the graph store."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


async def test_it_reports_both_parts_ok(async_client):
    response = await async_client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "graph_store": "ok"}


async def test_an_unreachable_graph_store_is_named_with_503(async_client, settings):
    settings.GRAPH_STORE_BACKEND = settings.GRAPH_STORE_BACKENDS["neo4j"]
    settings.NEO4J_URI = "bolt://127.0.0.1:9"  # nothing listens on the discard port

    response = await async_client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "graph_store": "unavailable",
    }
    assert "Traceback" not in response.content.decode()


async def test_a_wrong_method_is_a_json_405_even_without_a_csrf_token():
    from django.test import AsyncClient

    response = await AsyncClient(enforce_csrf_checks=True).post("/healthz")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"
