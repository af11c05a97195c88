"""Bad requests get a clear 4xx JSON error before any stream starts, and write nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from queries.models import Conversation, Message

pytestmark = pytest.mark.django_db(transaction=True)

ENDPOINTS = ["/api/query/stream/", "/api/query/"]


async def post(client, path, body, headers, *, content_type="application/json"):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return await client.post(path, data=data, content_type=content_type, headers=headers)


async def assert_refused(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert isinstance(body["detail"], str) and body["detail"]
    if code:
        assert body["code"] == code
    assert await Message.objects.acount() == 0
    assert await Conversation.objects.acount() == 0
    return body


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "query"),
        ({"query": ""}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "x" * 4001}, "query"),
        ({"query": "falcons?", "max_results": 0}, "max_results"),
        ({"query": "falcons?", "max_results": 21}, "max_results"),
        ({"query": "falcons?", "max_results": "many"}, "max_results"),
        ({"query": "falcons?", "max_results": "5"}, "max_results"),
        ({"query": "falcons?", "max_results": 5.5}, "max_results"),
        ({"query": 5}, "query"),
        ({"query": ["falcons?"]}, "query"),
        ({"query": " " + "x" * 4000}, "query"),
        ({"query": "falcons?", "conversation_id": "not-a-uuid"}, "conversation_id"),
        (
            {"query": "falcons?", "document_ids": ["00000000-0000-0000-0000-000000000001"]},
            "document_ids",
        ),
    ],
)
async def test_invalid_fields_are_named(async_client, alice_auth, path, body, field):
    response = await post(async_client, path, body, alice_auth)
    errors = await assert_refused(response, 400, "invalid")
    assert field in errors and field in errors["detail"]


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_malformed_json_is_refused(async_client, alice_auth, path):
    response = await post(async_client, path, '{"query": "falcons', alice_auth)
    body = await assert_refused(response, 400, "parse_error")
    assert body["detail"] == "The request body is not valid JSON."


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_body_over_the_upload_memory_limit_is_413(async_client, alice_auth, path):
    body = {"query": "falcons?", "padding": "x" * (6 * 1024 * 1024)}
    response = await post(async_client, path, body, alice_auth)
    body = await assert_refused(response, 413, "request_too_large")
    assert body["detail"] == "The request body is too large."


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("method", ["get", "put", "delete"])
async def test_a_wrong_method_is_a_json_405(async_client, alice_auth, path, method):
    response = await getattr(async_client, method)(path, headers=alice_auth)
    body = await assert_refused(response, 405, "method_not_allowed")
    assert method.upper() in body["detail"]
    assert "POST" in response["Allow"]


async def test_a_foreign_host_header_gets_a_json_400_on_the_api(async_client, alice_auth):
    response = await async_client.post(
        "/api/query/stream/",
        data={"query": "falcons?"},
        content_type="application/json",
        headers={**alice_auth, "host": "evil.example"},
    )
    await assert_refused(response, 400, "bad_request")


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_a_form_post_is_refused_as_the_wrong_media_type(async_client, alice_auth, path):
    response = await post(
        async_client,
        path,
        "query=falcons",
        alice_auth,
        content_type="application/x-www-form-urlencoded",
    )
    await assert_refused(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_no_credentials_is_401(async_client, path):
    response = await post(async_client, path, {"query": "falcons?"}, {})
    await assert_refused(response, 401, "not_authenticated")


def expired_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(minutes=1))
    return str(token)


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("kind", ["expired", "tampered", "garbage", "refresh-as-access"])
async def test_a_bad_token_is_401(async_client, alice, path, kind):
    from asgiref.sync import sync_to_async

    if kind == "expired":
        token = expired_token(alice)
    elif kind == "tampered":
        good = str(AccessToken.for_user(alice))
        head, payload, signature = good.split(".")
        token = f"{head}.{payload}.{signature[:-4]}AAAA"
    elif kind == "garbage":
        token = "not.a.token"
    else:
        token = str(await sync_to_async(RefreshToken.for_user)(alice))

    response = await post(
        async_client, path, {"query": "falcons?"}, {"Authorization": f"Bearer {token}"}
    )

    body = await assert_refused(response, 401, "token_not_valid")
    assert body["detail"] == "The token is invalid or has expired: log in again to get a new one."


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_another_users_conversation_is_404(async_client, alice, bob_auth, path):
    conversation = await Conversation.objects.acreate(owner=alice, title="private")

    response = await post(
        async_client,
        path,
        {"query": "falcons?", "conversation_id": str(conversation.pk)},
        bob_auth,
    )

    assert response.status_code == 404
    assert json.loads(response.content)["code"] == "not_found"
    assert await Message.objects.acount() == 0


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_the_session_needs_its_csrf_token(alice, path):
    from django.test import AsyncClient

    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(alice)

    response = await post(client, path, {"query": "falcons?"}, {})

    body = await assert_refused(response, 403, "csrf_failed")
    assert body["detail"] == "CSRF check failed: reload the page and try again."


async def test_get_is_not_allowed(async_client, alice_auth):
    response = await async_client.get("/api/query/stream/", headers=alice_auth)
    assert response.status_code == 405
