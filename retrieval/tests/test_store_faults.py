"""The graph store failing under a running app: killed, stopped, or a socket that never answers.

Faults are real: the embedded server is sent SIGKILL or SIGSTOP while the web
process (daphne) runs. A question meeting the fault is told so (503, or an
`error` event); the next question after recovery works, with nothing restarted
by hand.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import psutil
import pytest

from queries.tests.conftest import FALCONS
from retrieval.errors import StoreError
from retrieval.graphstores.falkordb import FalkorDBStore
from tests.live import REPORTS, LiveApp, bearer
from tests.silent_server import silent_port
from tests.sse_parser import Parser

pytestmark = pytest.mark.slow

QUESTION = {"query": "How fast does the peregrine falcon dive?"}


def embedded_pid(data: Path) -> int:
    registry = json.loads((data / "graph" / "falkordb.rdb.settings").read_text())
    return int(Path(registry["pidfile"]).read_text())


def gone(pid: int, seconds: float = 10) -> bool:
    """Dead, whether or not its parent has reaped it yet (a zombie is not waited out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def app(tmp_path) -> Iterator[LiveApp]:
    live = LiveApp(tmp_path, GRAPH_STORE_TIMEOUT="2", LOG_LEVEL="WARNING")
    live.start()
    live.create_user("alice", "alice-pass-123")
    live.ingest_text("alice", "falcons.txt", FALCONS)
    time.sleep(1.5)  # the store's append-only log reaches the disk every second
    try:
        yield live
    finally:
        with suppress(OSError):  # never leave a stopped server behind
            os.kill(embedded_pid(tmp_path), signal.SIGCONT)
        live.stop()


def ask(app: LiveApp, headers: dict) -> httpx.Response:
    return httpx.post(f"{app.url}/api/query/", json=QUESTION, headers=headers, timeout=60)


def stream_events(app: LiveApp, headers: dict) -> list:
    parser = Parser()
    events = []
    with httpx.stream(
        "POST", f"{app.url}/api/query/stream/", json=QUESTION, headers=headers, timeout=60
    ) as response:
        assert response.status_code == 200
        for chunk in response.iter_text():
            events += parser.feed(chunk)
    return events


def test_a_killed_store_fails_one_question_and_the_next_finds_it_started_again(app):
    headers = bearer(app.url)
    before = ask(app, headers)
    assert before.status_code == 200
    pid = embedded_pid(app.data)

    os.kill(pid, signal.SIGKILL)
    assert gone(pid)

    failed = ask(app, headers)
    assert failed.status_code == 503
    assert failed.json()["detail"] == StoreError.UNREACHABLE
    after = ask(app, headers)
    assert after.status_code == 200, after.text
    assert after.json()["citations"] == before.json()["citations"]  # the data survived
    assert embedded_pid(app.data) != pid
    assert httpx.get(f"{app.url}/healthz", timeout=10).status_code == 200


def test_a_stopped_store_fails_a_question_in_time_and_the_next_works_once_it_runs(app):
    headers = bearer(app.url)
    assert ask(app, headers).status_code == 200
    pid = embedded_pid(app.data)

    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        json_twin = ask(app, headers)
        events = stream_events(app, headers)
        waited = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)

    assert json_twin.status_code == 503
    assert json_twin.json()["code"] == "graph_store_timeout"
    assert events[-1].event == "error"
    assert json.loads(events[-1].data)["code"] == "graph_store_timeout"
    assert waited < 20  # two questions, each let down after GRAPH_STORE_TIMEOUT (2 s)
    assert ask(app, headers).status_code == 200
    listing = httpx.get(f"{app.url}/api/conversations/", headers=headers).json()
    statuses = []
    for conversation in listing["results"]:
        detail = httpx.get(f"{app.url}/api/conversations/{conversation['id']}/", headers=headers)
        statuses.append(detail.json()["messages"][1]["status"])
    assert sorted(statuses) == ["complete", "complete", "failed", "failed"]


@pytest.fixture
def silent_server() -> Iterator[str]:
    with silent_port() as port:
        yield f"redis://127.0.0.1:{port}"


def test_a_store_server_that_never_answers_fails_the_statement_after_its_timeout(
    silent_server, tmp_path
):
    store = FalkorDBStore(path=tmp_path / "unused.rdb", graph="g", url=silent_server, timeout=1)

    async def run() -> None:
        try:
            await store.run("RETURN 1")
        finally:
            await store.close()

    started = time.monotonic()
    with pytest.raises(StoreError) as failure:
        asyncio.run(run())

    assert failure.value.code == "graph_store_timeout"
    assert time.monotonic() - started < 10


COUNT_CHUNKS = """
import asyncio
from retrieval.graphstores import aget_store
from tests import graph

async def count():
    store = await aget_store()
    print(await graph.count_chunks(store, {document_id!r}))

asyncio.run(count())
"""


def test_a_store_killed_under_an_ingestion_is_started_again_and_the_document_ends_ready_once(
    tmp_path,
):
    app = LiveApp(
        tmp_path, CHUNK_SIZE="100", CHUNK_OVERLAP="0", INGEST_RETRY_SECONDS="1", LOG_LEVEL="WARNING"
    )
    app.start(worker=True)
    try:
        app.create_user("alice", "alice-pass-123")
        headers = bearer(app.url)
        document_id = app.upload(headers, "reports.txt", REPORTS)
        pid = embedded_pid(tmp_path)

        os.kill(pid, signal.SIGKILL)  # before or while its chunks are written
        document = app.settled(headers, document_id)

        assert (document["status"], document["error"]) == ("ready", "")
        assert embedded_pid(tmp_path) != pid
        total = document["chunks"]
        assert total > 500  # many write batches
        stored = app.manage("shell", "-c", COUNT_CHUNKS.format(document_id=document_id))
        assert int(stored.split()[-1]) == total  # every chunk once, none staged and left behind
        # The web process meets the dead server on its first question (a 503),
        # moves to the one the worker started, and answers the next.
        for _ in range(2):
            answer = httpx.post(
                f"{app.url}/api/query/",
                json={"query": "Where did falcon report 7 dive?"},
                headers=headers,
                timeout=60,
            )
            if answer.status_code != 503:
                break
        assert answer.status_code == 200
        assert answer.json()["citations"][0]["document_id"] == document_id
    finally:
        app.stop()
