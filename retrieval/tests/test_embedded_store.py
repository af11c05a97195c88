"""The embedded graph store: every process that opens one database file shares one server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from retrieval.graphstores.falkordb import stop_embedded

# Start (or find) the server for a file, say which process serves it, and stay
# (a process that leaves as the last client takes the server with it).
SERVER_PID = """
import sys
import redis
from pathlib import Path
from retrieval.graphstores.falkordb import embedded_socket
socket = embedded_socket(Path(sys.argv[1]))
print(redis.Redis(unix_socket_path=socket).info()["process_id"], flush=True)
sys.stdin.read()
"""


@pytest.mark.slow
def test_processes_starting_at_the_same_moment_share_one_server(tmp_path):
    path = tmp_path / "graph" / "falkordb.rdb"
    try:
        starting = [
            subprocess.Popen(
                [sys.executable, "-c", SERVER_PID, str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        pids = {process.stdout.readline().strip() for process in starting}
        for process in starting:
            process.communicate(timeout=60)
    finally:
        stop_embedded(path)

    assert len(pids) == 1 and pids != {""}
