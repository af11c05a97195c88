"""Bodies over their limit are refused as they arrive, against the real servers.

A raw socket sends the headers and a little of the body, then reads: a
server that buffered first would wait for the rest (gigabytes here) and the
read would time out.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.live import LiveApp

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def app(request, tmp_path_factory) -> Iterator[LiveApp]:
    live = LiveApp(
        tmp_path_factory.mktemp(request.param),
        MAX_BODY_KB="64",
        MAX_UPLOAD_MB="1",
        LOG_LEVEL="WARNING",
    )
    live.start(server=request.param)
    live.create_user("alice", "alice-pass-123")
    try:
        yield live
    finally:
        live.stop()


def send_raw(app: LiveApp, head: str, body: bytes) -> tuple[int, dict]:
    """Send the request head and `body` (not the whole declared body); read the answer."""
    address = urlsplit(app.url)
    with socket.create_connection((address.hostname, address.port), timeout=15) as connection:
        connection.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            piece = connection.recv(65536)
            if not piece:
                break
            answer += piece
    status = int(answer.split(b" ", 2)[1])
    return status, json.loads(answer.split(b"\r\n\r\n", 1)[1])


def test_a_huge_declared_body_is_refused_before_it_is_sent(app):
    status, body = send_raw(
        app,
        "POST /api/auth/register/ HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: application/json\r\nContent-Length: {10 * 1024**3}\r\n",
        b"{" + b" " * 65536,
    )

    assert status == 413
    assert body == {
        "detail": "The request body is too large (at most 64 KB here).",
        "code": "request_too_large",
    }


def test_a_chunked_body_is_refused_once_it_passes_the_limit(app):
    chunk = b" " * 32768
    framed = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(4))  # 128 KB

    status, body = send_raw(
        app,
        "POST /api/query/ HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        framed,
    )

    assert status == 413 and body["code"] == "request_too_large"


def test_uploads_have_their_own_limit_and_a_file_within_it_is_taken(app):
    tokens = httpx.post(
        f"{app.url}/api/auth/token/", json={"username": "alice", "password": "alice-pass-123"}
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access']}"}
    text = ("Peregrine falcons nest on cliffs. " * 6000).encode()  # 200 KB: over 64 KB, under 1 MB

    taken = httpx.post(
        f"{app.url}/api/documents/",
        headers=headers,
        files={"file": ("falcons.txt", text, "text/plain")},
        timeout=30,
    )
    status, body = send_raw(
        app,
        "POST /api/documents/ HTTP/1.1\r\nHost: localhost\r\n"
        f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {3 * 1024**2}\r\n",
        b"--x\r\n",
    )

    assert taken.status_code == 201, taken.text
    assert status == 413 and body["detail"] == "The request body is too large (at most 2 MB here)."


def test_a_form_body_the_server_cannot_parse_gets_the_apis_json_error(app):
    """Twisted (under daphne) would answer a broken multipart body with a bare 400 itself."""
    tokens = httpx.post(
        f"{app.url}/api/auth/token/", json={"username": "alice", "password": "alice-pass-123"}
    ).json()
    for body in (b"--x--\r\n", b"--x\r\nnot a part"):
        answer = httpx.post(
            f"{app.url}/api/documents/",
            headers={
                "Authorization": f"Bearer {tokens['access']}",
                "Content-Type": "multipart/form-data; boundary=x",
            },
            content=body,
        )

        assert answer.status_code == 400, answer.text
        assert answer.headers["Content-Type"] == "application/json"
        assert answer.json()["code"] in {"invalid", "parse_error"}
