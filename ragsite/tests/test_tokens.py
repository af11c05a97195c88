"""API tokens end at logout and at a password change, on every endpoint."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken

from queries.models import Conversation, Message
from ragsite.models import TokenFence
from ragsite.tokens import LOGGED_OUT, flush_expired

pytestmark = pytest.mark.django_db(
    transaction=True
)  # the stream reads users on a thread of its own


def login(username: str = "alice", password: str = "alice-pass-123") -> dict:
    response = APIClient().post(
        "/api/auth/token/", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def documents(access: str) -> int:
    return APIClient().get("/api/documents/", HTTP_AUTHORIZATION=f"Bearer {access}").status_code


def stream(access: str) -> int:
    return (
        APIClient()
        .post(
            "/api/query/stream/",
            {"query": "Anything?", "document_ids": []},
            format="json",
            HTTP_AUTHORIZATION=f"Bearer {access}",
        )
        .status_code
    )


def test_a_logout_ends_the_access_tokens_and_the_other_refresh_tokens_of_its_user(alice, bob):
    laptop, phone, others = login(), login(), login("bob", "bob-pass-123")
    assert documents(laptop["access"]) == 200

    out = APIClient().post("/api/auth/logout/", {"refresh": laptop["refresh"]}, format="json")

    assert out.status_code == 205
    refused = APIClient().get("/api/documents/", HTTP_AUTHORIZATION=f"Bearer {laptop['access']}")
    assert refused.status_code == 401
    assert refused.json() == {"detail": LOGGED_OUT, "code": "logged_out"}
    assert documents(phone["access"]) == 401
    assert stream(laptop["access"]) == 401
    renewed = APIClient().post(
        "/api/auth/token/refresh/", {"refresh": phone["refresh"]}, format="json"
    )
    assert renewed.status_code == 401
    assert documents(others["access"]) == 200  # another user's tokens are theirs


def test_a_question_with_a_token_ended_by_logout_is_refused_and_leaves_nothing(alice):
    tokens = login()
    APIClient().post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json")

    refused = APIClient().post(
        "/api/query/stream/",
        {"query": "Where do peregrine falcons nest?"},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {tokens['access']}",
    )

    assert refused.status_code == 401
    assert refused.json() == {"detail": LOGGED_OUT, "code": "logged_out"}
    assert not Conversation.objects.exists() and not Message.objects.exists()


def ask(access: str, body: dict) -> object:
    return APIClient().post(
        "/api/query/stream/", body, format="json", HTTP_AUTHORIZATION=f"Bearer {access}"
    )


def test_a_question_with_an_ended_token_is_refused_before_its_mistakes_are_named(alice):
    """The stream reads the token's user with the turn's rows: a request refused
    before that (a field wrong) still says first that the token has ended."""
    tokens = login()
    APIClient().post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json")

    for body in ({"query": ""}, {"query": "Falcons?", "max_results": 0}):
        refused = ask(tokens["access"], body)
        assert refused.status_code == 401, refused.content
        assert refused.json() == {"detail": LOGGED_OUT, "code": "logged_out"}


def test_a_question_from_a_deactivated_user_is_refused_and_leaves_nothing(alice):
    tokens = login()
    alice.is_active = False
    alice.save()

    refused = ask(tokens["access"], {"query": "Where do peregrine falcons nest?"})

    assert refused.status_code == 401
    assert refused.json()["code"] == "user_inactive"
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_a_signed_token_naming_no_user_is_refused_as_a_bad_token(alice):
    token = AccessToken()
    token["user_id"] = "alice"  # signed with the right key, but not a user's id

    refused = ask(str(token), {"query": "Where do peregrine falcons nest?"})

    assert refused.status_code == 401
    assert refused.json()["code"] == "token_not_valid"


def test_logging_in_again_after_a_logout_works(alice):
    tokens = login()
    APIClient().post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json")
    time.sleep(1.1)  # tokens carry their issue time to the second

    again = login()

    assert documents(again["access"]) == 200


def test_a_password_change_ends_the_tokens_issued_before_it(alice):
    tokens = login()
    alice.set_password("a-new-pass-456")
    alice.save()

    assert documents(tokens["access"]) == 401
    refused = ask(tokens["access"], {"query": "Where do peregrine falcons nest?"})
    assert refused.status_code == 401 and refused.json()["code"] == "password_changed"
    assert not Message.objects.exists()
    assert documents(login("alice", "a-new-pass-456")["access"]) == 200


def test_the_worker_housekeeping_drops_expired_token_rows(alice):
    login()
    OutstandingToken.objects.update(expires_at=timezone.now() - timedelta(days=1))
    TokenFence.objects.create(user=alice, not_before=timezone.now() - timedelta(days=30))

    flush_expired()

    assert not OutstandingToken.objects.exists()
    assert not TokenFence.objects.exists()
