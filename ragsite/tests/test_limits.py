"""Floods are turned away: rate limits, the sign-in lockout and per-account quotas.

The suite runs with every limit lifted (ragsite/test_settings.py); each test
here sets the limits it is about, and starts from an empty shared cache.
"""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from retrieval.models import Document

pytestmark = pytest.mark.django_db

OFF = {"login": None, "refresh": None, "register": None, "query": None, "upload": None}


@pytest.fixture
def limits(settings):
    """Set some limits (the others stay off) on an empty throttle cache."""
    cache.clear()

    def set_limits(**rates: tuple[int, int]) -> None:
        settings.RATE_LIMITS = {**OFF, **rates}

    set_limits()
    return set_limits


def token(password: str, username: str = "alice", address: str = "10.0.0.1", **headers):
    return APIClient().post(
        "/api/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )


def assert_refused(response, code: str, most_seconds: int) -> int:
    """A 429 with the API's JSON error and a Retry-After a client can act on."""
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == code
    assert "try again in" in body["detail"].lower()
    wait = int(response["Retry-After"])
    assert 1 <= wait <= most_seconds
    return wait


# --- the sign-in lockout (django-axes) --------------------------------------


def test_repeated_wrong_passwords_lock_that_username_out_at_that_address(alice, bob, limits):
    tries = [token("wrong-guess").status_code for _ in range(5)]

    assert tries == [401, 401, 401, 401, 429]
    refused = token("alice-pass-123")  # the right password no longer helps
    assert_refused(refused, "locked_out", 15 * 60)
    assert "access" not in refused.json()
    assert "15 minutes" in refused.json()["detail"]
    # Only that username at that address: the owner elsewhere, and others here, still sign in.
    assert token("alice-pass-123", address="10.0.0.2").status_code == 200
    assert token("bob-pass-123", username="bob").status_code == 200


def test_the_lockout_ends_after_its_cool_off(alice, limits, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    for _ in range(5):
        token("wrong-guess")
    assert token("alice-pass-123").status_code == 429

    time.sleep(1.2)

    assert token("alice-pass-123").status_code == 200


def test_a_successful_sign_in_starts_the_count_again(alice, limits):
    for _ in range(4):
        token("wrong-guess")
    assert token("alice-pass-123").status_code == 200

    assert [token("wrong-guess").status_code for _ in range(4)] == [401] * 4


@pytest.mark.parametrize(
    ("page", "username", "password"),
    [("/accounts/login/", "alice", "alice-pass-123"), ("/admin/login/", "admin", "admin-pass-123")],
)
def test_the_sign_in_pages_lock_out_too(
    client, alice, admin_user, limits, page, username, password
):
    def sign_in(secret: str):
        return client.post(page, {"username": username, "password": secret}, REMOTE_ADDR="10.0.0.3")

    tries = [sign_in("wrong-guess").status_code for _ in range(5)]
    refused = sign_in(password)

    assert tries == [200, 200, 200, 200, 429]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) == 15 * 60
    text = refused.content.decode()
    assert "Too many failed sign-ins" in text and "15 minutes" in text
    assert "_auth_user_id" not in client.session


# --- rate limits ------------------------------------------------------------


def test_the_token_endpoint_is_rate_limited_per_address(alice, limits):
    limits(login=(3, 60))

    answers = [token("alice-pass-123").status_code for _ in range(3)]
    refused = token("alice-pass-123")
    # A client cannot name another address to start a new count.
    spoofed = token("alice-pass-123", HTTP_X_FORWARDED_FOR="192.0.2.7")

    assert answers == [200, 200, 200]
    assert_refused(refused, "throttled", 60)
    assert re.fullmatch(
        r"Too many requests\. Try again in \d+ seconds?\.", refused.json()["detail"]
    )
    assert spoofed.status_code == 429
    assert token("alice-pass-123", address="10.0.0.9").status_code == 200


def test_refresh_is_rate_limited(alice, limits):
    limits(refresh=(2, 60))
    refresh = token("alice-pass-123").json()["refresh"]

    def renew():
        return APIClient().post(
            "/api/auth/token/refresh/", {"refresh": refresh}, format="json", REMOTE_ADDR="10.0.0.1"
        )

    first = renew()
    refresh = first.json()["refresh"]
    second = renew()
    refresh = second.json()["refresh"]

    assert (first.status_code, second.status_code) == (200, 200)
    assert_refused(renew(), "throttled", 60)


def test_sign_up_is_rate_limited_per_address_on_the_api_and_the_page(client, limits, settings):
    settings.REGISTRATION_OPEN = True
    limits(register=(2, 3600))

    def register(name: str):
        return APIClient().post(
            "/api/auth/register/",
            {"username": name, "password": "a-long-pass-phrase"},
            format="json",
            REMOTE_ADDR="10.0.0.4",
        )

    assert [register(n).status_code for n in ("ann", "ben")] == [201, 201]
    assert_refused(register("cat"), "throttled", 3600)
    page = client.post(
        "/accounts/signup/",
        {"username": "dan", "password1": "a-long-pass-phrase", "password2": "a-long-pass-phrase"},
        REMOTE_ADDR="10.0.0.4",
    )
    assert page.status_code == 429 and "Too many sign-ups" in page.content.decode()
    assert int(page["Retry-After"]) > 60
    from django.contrib.auth import get_user_model

    assert sorted(get_user_model().objects.values_list("username", flat=True)) == ["ann", "ben"]


def upload(user_client: APIClient, name: str, data: bytes = b"Some notes about falcons."):
    return user_client.post("/api/documents/", {"file": _named(data, name)}, format="multipart")


def _named(data: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


@pytest.fixture
def as_alice(alice) -> APIClient:
    api = APIClient()
    api.force_authenticate(alice)
    return api


def test_uploads_are_rate_limited_per_user_on_the_api_and_the_page(
    as_alice, alice, bob, client, limits
):
    limits(upload=(2, 3600))

    assert [upload(as_alice, f"{n}.txt", f"note {n}".encode()).status_code for n in (1, 2)] == [
        201,
        201,
    ]
    assert_refused(upload(as_alice, "3.txt", b"note 3"), "throttled", 3600)
    client.force_login(alice)
    page = client.post("/documents/", {"file": _named(b"note 4", "4.txt")})
    assert page.status_code == 429 and "Too many uploads" in page.content.decode()
    other = APIClient()
    other.force_authenticate(bob)
    assert upload(other, "b.txt").status_code == 201
    assert Document.objects.filter(owner=alice).count() == 2


# --- quotas ---------------------------------------------------------------


def test_an_account_holds_at_most_its_number_of_documents(as_alice, alice, bob, limits, settings):
    settings.MAX_DOCUMENTS_PER_USER = 2
    for n in (1, 2):
        assert upload(as_alice, f"{n}.txt", f"note {n}".encode()).status_code == 201

    refused = upload(as_alice, "3.txt", b"note 3")

    assert refused.status_code == 403
    assert refused.json()["code"] == "quota_exceeded"
    assert "holds 2 documents" in refused.json()["detail"]
    assert Document.objects.filter(owner=alice).count() == 2  # nothing half-stored
    other = APIClient()
    other.force_authenticate(bob)
    assert upload(other, "b.txt").status_code == 201


def test_an_account_stores_at_most_its_megabytes(as_alice, alice, limits, settings, tmp_path):
    settings.MAX_STORAGE_MB_PER_USER = 1
    settings.MEDIA_ROOT = tmp_path
    big = b"falcon notes\n" * 50_000  # 650 KB
    assert upload(as_alice, "one.txt", big).status_code == 201

    refused = upload(as_alice, "two.txt", big + b"more")

    assert refused.status_code == 403
    assert refused.json()["code"] == "quota_exceeded"
    assert "1 MB" in refused.json()["detail"]
    assert Document.objects.filter(owner=alice).count() == 1
    assert len(list(tmp_path.rglob("two*"))) == 0  # no file kept without its row


def test_a_limit_written_wrongly_stops_start_up_with_one_readable_line(tmp_path):
    from ragsite.tests.test_secrets import manage

    refused = manage(tmp_path, "check", RATE_LIMIT_QUERY="lots")

    assert refused.returncode != 0
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "RATE_LIMIT_QUERY must be a number of requests per period such as 10/minute, "
            "5/15min or 100/hour (or off), not 'lots'."
        )
    )
    assert "Traceback" not in refused.stderr
    assert manage(tmp_path, "check", RATE_LIMIT_QUERY="5/15min").returncode == 0
