"""The middleware stack under ASGI: sessions, CSRF, messages and headers as Django's own."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import AsyncClient

pytestmark = pytest.mark.django_db(transaction=True)


async def _csrf_token(client: AsyncClient) -> str:
    page = await client.get("/accounts/login/")
    assert page.status_code == 200
    return page.cookies["csrftoken"].value


async def test_a_form_post_without_its_csrf_token_is_refused():
    carol = await User.objects.acreate_user("carol", password="carol-pass-123")
    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(carol)

    response = await client.post(f"/documents/{uuid.uuid4()}/delete/")

    assert response.status_code == 403  # refused before the view could answer 404


async def test_a_login_with_its_token_saves_the_session_and_the_next_page_knows_the_user():
    await User.objects.acreate_user("carol", password="carol-pass-123")
    client = AsyncClient(enforce_csrf_checks=True)
    token = await _csrf_token(client)

    response = await client.post(
        "/accounts/login/",
        {"username": "carol", "password": "carol-pass-123", "csrfmiddlewaretoken": token},
    )

    assert response.status_code == 302
    assert response.cookies["sessionid"].value  # saved: the session middleware's slow path
    page = await client.get("/")
    assert page.status_code == 200
    assert b"carol" in page.content


async def test_pages_keep_their_security_headers():
    response = await AsyncClient().get("/accounts/login/")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Cookie" in response.headers["Vary"]


async def test_a_missing_slash_is_redirected():
    response = await AsyncClient().get("/accounts/login")

    assert response.status_code == 301
    assert response.headers["Location"] == "/accounts/login/"
