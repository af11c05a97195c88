"""Keys and files on disk: one random key per installation, nothing readable by other users.

The settings are read in fresh processes (`manage.py`), as a person runs them,
with an environment that holds only what each case sets.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from retrieval import documents

ROOT = Path(__file__).resolve().parents[2]


def manage(data: Path, *args: str, **environment: str) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "HF_HUB_OFFLINE")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={
            **keep,
            "DJANGO_SETTINGS_MODULE": "ragsite.settings",
            "DATA_DIR": str(data),
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def key_of(data: Path, **environment: str) -> str:
    shown = manage(
        data,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SECRET_KEY)",
        **environment,
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.split()[-1]


def test_without_a_key_each_installation_makes_its_own_and_every_command_finds_it(tmp_path):
    first = key_of(tmp_path / "one")

    assert key_of(tmp_path / "one") == first  # the next command, the worker, the server
    assert key_of(tmp_path / "two") != first  # never a constant shared by installations
    assert len(first) >= 50
    assert (tmp_path / "one" / "secret_key").read_text().strip() == first
    assert mode(tmp_path / "one" / "secret_key") == 0o600
    assert mode(tmp_path / "one" / "jwt_signing_key") == 0o600
    assert mode(tmp_path / "one") == 0o700


def test_debug_mode_also_gets_a_random_key(tmp_path):
    assert key_of(tmp_path / "one", DJANGO_DEBUG="true") != key_of(
        tmp_path / "two", DJANGO_DEBUG="true"
    )


def test_a_short_key_is_refused_unless_debug_is_on(tmp_path):
    refused = manage(tmp_path, "check", DJANGO_SECRET_KEY="too-short")

    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY must be at least 50 characters long (it is 9)" in refused.stderr
    assert (
        manage(tmp_path, "check", DJANGO_SECRET_KEY="too-short", DJANGO_DEBUG="1").returncode == 0
    )


def test_an_existing_data_folder_open_to_others_is_closed(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)

    assert manage(data, "migrate", "--noinput").returncode == 0

    assert mode(data) == 0o700
    assert mode(data / "db.sqlite3") == 0o600


@pytest.mark.django_db
def test_uploaded_files_are_readable_by_their_owner_process_only(alice):
    document = documents.create_document(
        alice, io.BytesIO(b"Peregrine falcons nest on cliffs."), "falcons.txt", enqueue=False
    )

    assert mode(Path(document.file.path)) == 0o600
    assert mode(Path(document.file.path).parent) == 0o700


def _token(user, key: str) -> str:
    """An access token with every claim simplejwt gives one, signed with `key`."""
    return jwt.encode(dict(AccessToken.for_user(user).payload), key, algorithm="HS256")


@pytest.mark.django_db
def test_an_access_token_signed_with_the_session_key_is_refused(client, alice):
    forged = _token(alice, settings.SECRET_KEY)
    signed = _token(alice, settings.JWT_SIGNING_KEY)

    refused = client.get("/api/documents/", HTTP_AUTHORIZATION=f"Bearer {forged}")
    accepted = client.get("/api/documents/", HTTP_AUTHORIZATION=f"Bearer {signed}")

    assert refused.status_code == 401
    assert accepted.status_code == 200
