"""The web command's processes on one socket: each serves, one that dies is started
again while the other goes on, and none outlives the command. Real processes, real
signals."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ragsite.tests.test_supervisor import alive
from ragsite.web_processes import TcpEndpoint, parse_tcp, split_endpoint
from tests.live import LiveApp

pytestmark = pytest.mark.slow


def children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(child) for child in path.read_text().split()} if path.exists() else set()


def wait_until(condition, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.05)
    raise AssertionError("waited in vain")


def healthy(url: str) -> bool:
    return httpx.get(f"{url}/healthz", timeout=5).status_code == 200


@pytest.fixture
def app(tmp_path) -> Iterator[LiveApp]:
    app = LiveApp(tmp_path, LOG_LEVEL="WARNING")
    app.start(processes=2)
    try:
        yield app
    finally:
        app.stop()


def test_each_process_serves_and_one_that_dies_is_started_again_while_the_other_serves(app):
    command = app.processes[0].pid
    first, second = sorted(wait_until(lambda: len(children(command)) == 2 and children(command)))

    os.kill(first, signal.SIGKILL)
    # The other one answers meanwhile; nobody sees the death.
    assert all(healthy(app.url) for _ in range(20))
    restarted = wait_until(lambda: (now := children(command) - {first, second}) and now.pop())
    # Only the one started again is left to answer: it serves too.
    os.kill(second, signal.SIGKILL)
    wait_until(lambda: not alive(second))
    assert all(healthy(app.url) for _ in range(20))
    assert alive(restarted)

    app.processes[0].send_signal(signal.SIGTERM)
    app.processes[0].wait(20)
    wait_until(lambda: not any(alive(pid) for pid in children(command) | {restarted}), 10)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{app.url}/healthz", timeout=2)


def test_no_process_outlives_the_command_killed_outright(app):
    command = app.processes[0].pid
    served_by = wait_until(lambda: len(children(command)) == 2 and children(command))

    os.kill(command, signal.SIGKILL)

    wait_until(lambda: not any(alive(pid) for pid in served_by), 10)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{app.url}/healthz", timeout=2)


@pytest.mark.parametrize(
    ("description", "endpoint"),
    [
        ("tcp:8000", TcpEndpoint(8000, "", 50)),
        (
            "tcp:port=8001:interface=0.0.0.0:backlog=2048",
            TcpEndpoint(8001, "0.0.0.0", 2048),
        ),
        ("unix:/tmp/web.sock", None),
        ("tcp:port=8000:reuse=yes", None),
        ("tcp:port=http", None),
    ],
)
def test_the_address_to_share_is_read_from_daphnes_endpoint(description, endpoint):
    assert parse_tcp(description) == endpoint


def test_addresses_a_shared_socket_cannot_serve_leave_one_process():
    application = "ragsite.asgi:application"
    assert split_endpoint(["-e", "tcp:port=8000", "--proxy-headers", application]) == (
        TcpEndpoint(8000, "", 50),
        ["--proxy-headers", application],
    )
    assert split_endpoint(["-e", r"tcp:port=8000:interface=\:\:1", application]) is None
    assert split_endpoint(["-b", "0.0.0.0", "-p", "8000", application]) is None
    assert split_endpoint(["-e", "tcp:8000", "-e", "tcp:8001", application]) is None
