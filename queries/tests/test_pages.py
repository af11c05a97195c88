"""Server-rendered pages: sign-in, sign-up, the chat page shell."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_chat_page_needs_a_signed_in_user(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_chat_page_has_named_controls_and_a_csrf_cookie(client, alice):
    client.force_login(alice)
    response = client.get("/")
    page = response.content.decode()
    assert '<label for="question" class="visually-hidden">Ask a question</label>' in page
    assert ">Send</button>" in page and ">Stop</button>" in page
    assert '<label for="upload" class="button">Upload</label>' in page
    assert 'aria-live="polite"' in page
    assert "csrftoken" in response.cookies


def test_signing_in_and_out(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-pass-123"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_a_wrong_password_says_so(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert "do not match" in response.content.decode()


def test_sign_up_is_closed_by_default(client):
    assert client.get("/accounts/signup/").status_code == 404
    assert "Sign up" not in client.get("/accounts/login/").content.decode()


def test_sign_up_when_open_creates_the_account_and_signs_in(client, settings, django_user_model):
    settings.REGISTRATION_OPEN = True
    assert "Sign up" in client.get("/accounts/login/").content.decode()

    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "password1": "a-long-unusual-pass-42",
            "password2": "a-long-unusual-pass-42",
        },
    )

    assert response.status_code == 302
    assert django_user_model.objects.filter(username="carol").exists()
    assert client.get("/").status_code == 200
