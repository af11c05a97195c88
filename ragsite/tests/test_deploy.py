"""Production settings: HTTPS enforced with debug off, strict browser policies on every page."""

from __future__ import annotations

import pytest
from django.core import checks

from ragsite.checks import check_protective_middleware
from ragsite.tests.test_secrets import manage


def test_the_deploy_check_finds_nothing_with_production_settings(tmp_path):
    checked = manage(tmp_path, "check", "--deploy")

    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_the_deploy_check_says_when_https_is_turned_off(tmp_path):
    checked = manage(tmp_path, "check", "--deploy", DJANGO_HTTPS="false")

    assert "SESSION_COOKIE_SECURE" in checked.stdout + checked.stderr


def test_a_protective_middleware_taken_out_is_reported(settings):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "ragsite.middleware.ContentSecurityPolicyMiddleware"
    ]

    found = check_protective_middleware()

    assert [(m.id, m.level) for m in found] == [("ragsite.W001", checks.WARNING)]
    assert "Content-Security-Policy" in found[0].msg


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/api/docs/", "/healthz"])
def test_every_page_carries_the_browser_policies(client, path):
    response = client.get(path)

    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src 'self';" in policy + ";"  # no inline script, no other origin
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_with_https_on_plain_http_is_redirected_and_browsers_told_to_stay(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000

    redirected = client.get("/accounts/login/")
    over_https = client.get("/accounts/login/", secure=True)
    health = client.get("/healthz")

    assert redirected.status_code == 301
    assert redirected.headers["Location"].startswith("https://")
    assert over_https.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert health.status_code != 301  # a load balancer's plain-HTTP check still reaches it


SCHEMA_STATUS = (
    "from django.test import Client; "
    "print(Client().get('/api/schema/').status_code, Client().get('/api/docs/').status_code)"
)


def test_the_api_description_can_be_kept_for_signed_in_users(tmp_path):
    def statuses(**environment: str) -> str:
        shown = manage(
            tmp_path,
            "shell",
            "-c",
            SCHEMA_STATUS,
            DJANGO_ALLOWED_HOSTS="testserver",
            DJANGO_HTTPS="false",
            **environment,
        )
        assert shown.returncode == 0, shown.stderr
        return shown.stdout.split("\n")[-2]

    manage(tmp_path, "migrate", "--noinput")

    assert statuses() == "200 200"
    assert statuses(API_DOCS_PUBLIC="false") == "401 401"
