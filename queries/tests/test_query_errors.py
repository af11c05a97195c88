"""Bad requests get a clear 4xx JSON error before any stream starts, and write nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from queries.models import Conversation, Message
from queries.tests.conftest import post_stream

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
    await assert_refused(response, 400, "parse_error")


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
    assert "Traceback" not in body["detail"]


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


async def test_the_session_needs_its_csrf_token(alice):
    from django.test import AsyncClient

    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(alice)

    response = await post_stream(client, {"query": "falcons?"}, {})

    assert response.status_code == 403
    assert json.loads(response.content)["code"] == "csrf_failed"


async def test_get_is_not_allowed(async_client, alice_auth):
    response = await async_client.get("/api/query/stream/", headers=alice_auth)
    assert response.status_code == 405
