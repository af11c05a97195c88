"""The app as separate processes (daphne, worker) on a data directory of their own."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from retrieval.graphstores.falkordb import stop_embedded

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def own_database(data: Path, copy_of: str | None = None) -> str:
    """A database for one live app: SQLite in its data folder, or, when the suite
    runs on PostgreSQL (DATABASE_URL), a new database on that same server (a copy
    of the database at `copy_of`, when given)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{data / 'db.sqlite3'}"
    import psycopg

    name = f"live_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(url)
    template = f' TEMPLATE "{urlsplit(copy_of).path.lstrip("/")}"' if copy_of else ""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"{template}')
    return urlunsplit(parts._replace(path=f"/{name}"))


@functools.cache
def prepared_app() -> LiveApp:
    """An app whose database is migrated and static files collected, once per test
    run: live apps start from copies of both, instead of each running `migrate` and
    `collectstatic` (two Django start-ups of the few seconds every live app waits)."""
    folder = Path(tempfile.mkdtemp(prefix="live-prepared-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    app = LiveApp(folder, prepared=False)
    app.manage("migrate", "--noinput")
    app.manage("collectstatic", "--noinput")
    return app


# A long text document: at CHUNK_SIZE=100 it makes about 1,000 passages, many write batches.
REPORTS = "\n\n".join(
    f"Falcon report {n}: a peregrine dived at Houston." for n in range(1500)
).encode()


# The limits per person lifted: a benchmark is one account asking as many people would.
UNLIMITED = {
    **{f"RATE_LIMIT_{name}": "off" for name in ("LOGIN", "REFRESH", "REGISTER", "QUERY", "UPLOAD")},
    "MAX_STREAMS_PER_USER": "0",
}


def bearer(base: str, username: str = "alice", password: str = "alice-pass-123") -> dict[str, str]:
    """The Authorization header of a user of the live app at `base`, from its token endpoint."""
    tokens = httpx.post(
        f"{base}/api/auth/token/", json={"username": username, "password": password}
    ).json()
    return {"Authorization": f"Bearer {tokens['access']}"}


def model_settings(base_url: str) -> dict[str, str]:
    """The environment that points an app's ChatOpenAI at a local OpenAI-protocol server."""
    return {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": base_url, "OPENAI_MODEL": "test-model"}


class LiveApp:
    def __init__(self, data: Path, *, prepared: bool = True, **environment: str) -> None:
        """`prepared`: the database and static files are copies of `prepared_app()`'s."""
        self.data = data
        self.base = prepared_app() if prepared else None
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ragsite.settings",
            "DATA_DIR": str(data),
            "DATABASE_URL": own_database(data, self.base and self.base.env["DATABASE_URL"]),
            "HF_HUB_OFFLINE": "1",
            "DJANGO_HTTPS": "false",  # plain HTTP on this machine
            **environment,
        }
        self.processes: list[subprocess.Popen] = []
        self.url = ""

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            text=True,
            capture_output=True,
            timeout=300,
        )
        return done.stdout

    def create_user(self, username: str, password: str) -> None:
        self.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_user({username!r}, password={password!r})",
        )

    def ingest_text(self, owner: str, name: str, text: str) -> None:
        """A text file of `owner`'s, ingested by `manage.py ingest` as an operator would."""
        (self.data / name).write_text(text)
        self.manage("ingest", str(self.data / name), "--owner", owner)

    def start(self, *, worker: bool = False, server: str = "daphne", processes: int = 1) -> LiveApp:
        self._migrate()
        port = free_port()
        if server == "uvicorn":
            serve = [
                "uvicorn",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
                "--workers",
                str(processes),
            ]
        else:
            # As the Procfile: daphne on uvloop, `processes` of them on one socket.
            # Twisted's default listen backlog (50) drops connections opened in a burst.
            serve = ["ragsite.web", "-e", f"tcp:port={port}:interface=127.0.0.1:backlog=2048"]
        self.env["WEB_PROCESSES"] = str(processes)
        self._spawn("web", [sys.executable, "-m", *serve, "ragsite.asgi:application"])
        if worker:
            self.start_worker()
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("daphne did not start")

    def _migrate(self) -> None:
        """The database migrated and the static files collected, as `migrate` and
        `collectstatic` leave them: copied from the prepared app's when neither
        exists yet (a PostgreSQL database was made as a copy)."""
        database = self._sqlite()
        if self.base is None or (database is not None and database.exists()):
            self.manage("migrate", "--noinput")
        elif database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.base._sqlite(), database)
        static = self.data / "static"
        if self.base is None or static.exists():
            self.manage("collectstatic", "--noinput")
        else:
            shutil.copytree(self.base.data / "static", static)

    def _sqlite(self) -> Path | None:
        url = self.env["DATABASE_URL"]
        return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None

    def upload(self, headers: dict[str, str], filename: str, data: bytes) -> str:
        """Upload a file over the API; its document's id."""
        uploaded = httpx.post(
            f"{self.url}/api/documents/",
            headers=headers,
            files={"file": (filename, data, "text/plain")},
            timeout=30,
        )
        if uploaded.status_code != 201:
            raise RuntimeError(f"upload refused: {uploaded.status_code} {uploaded.text}")
        return uploaded.json()["id"]

    def document(self, headers: dict[str, str], document_id: str) -> dict:
        return httpx.get(f"{self.url}/api/documents/{document_id}/", headers=headers).json()

    def settled(self, headers: dict[str, str], document_id: str, seconds: float = 180) -> dict:
        """The document once it is ready or failed (or as it is after `seconds`)."""
        deadline = time.monotonic() + seconds
        while True:
            document = self.document(headers, document_id)
            if document["status"] in ("ready", "failed") or time.monotonic() > deadline:
                return document
            time.sleep(0.3)

    def start_worker(self, *args: str) -> subprocess.Popen:
        return self._spawn("worker", [sys.executable, "manage.py", "worker", *args])

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.data / f"{name}.log").open("a")  # a restarted worker adds to its log
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        # The embedded store outlives its clients by design.
        stop_embedded(self.data / "graph" / "falkordb.rdb")
