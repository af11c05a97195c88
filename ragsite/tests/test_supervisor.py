"""The process supervisor `bin/run` uses: a process that dies is started again, alone;
a stop signal stops everything. Real processes, real signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each process says it is up and then waits, as a server does. One write each: the two
# share the supervisor's output, and an unbuffered print writes "up" and its newline
# apart, so two of them could interleave as "upup".
WAITING = f"{sys.executable} -c \"import os, time; os.write(1, b'up\\n'); time.sleep(600)\""


class Supervisor:
    def __init__(self, procfile: Path) -> None:
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "ragsite.supervisor", str(procfile)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        os.set_blocking(self.popen.stdout.fileno(), False)

    def read(self) -> None:
        while chunk := self.popen.stdout.readline():
            self.lines.append(chunk.rstrip("\n"))

    def wait_for(self, pattern: str, seconds: float = 20) -> re.Match:
        """The first line (from the start) matching `pattern`, once it has been written."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.read()
            for line in self.lines:
                if found := re.search(pattern, line):
                    return found
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in {self.lines}")

    def pid(self, name: str, nth: int = 1) -> int:
        pattern = rf"supervisor \| {name} started \(pid (\d+)\)"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.read()
            pids = [int(m.group(1)) for line in self.lines if (m := re.search(pattern, line))]
            if len(pids) >= nth:
                return pids[nth - 1]
            time.sleep(0.05)
        raise AssertionError(f"{name} was not started {nth} time(s): {self.lines}")

    def stop(self) -> None:
        """Stop it as bin/run does; then kill whatever it started that still runs (a
        test that failed midway leaves no process behind to sleep out its ten minutes)."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self.read()
        for line in self.lines:
            if (found := re.search(r"started \(pid (\d+)\)", line)) and alive(int(found[1])):
                os.kill(int(found[1]), signal.SIGKILL)


def alive(pid: int) -> bool:
    """Running: neither gone nor a zombie (a child that died but was not yet reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.fixture
def procfile(tmp_path: Path) -> Path:
    path = tmp_path / "Procfile"
    path.write_text(f"web: {WAITING}\nworker: {WAITING}\n")
    return path


def test_a_killed_process_is_started_again_and_the_others_keep_running(procfile):
    supervisor = Supervisor(procfile)
    try:
        web, worker = supervisor.pid("web"), supervisor.pid("worker")
        os.kill(worker, signal.SIGKILL)

        supervisor.wait_for(r"worker was killed by signal 9; starting it again in 1 s")
        again = supervisor.pid("worker", 2)

        assert again != worker and alive(again)
        assert alive(web) and supervisor.pid("web") == web
        assert supervisor.popen.poll() is None
    finally:
        supervisor.stop()


def test_a_stop_signal_stops_every_process_and_the_supervisor(procfile):
    supervisor = Supervisor(procfile)
    try:
        web, worker = supervisor.pid("web"), supervisor.pid("worker")
        supervisor.wait_for("^up$")

        supervisor.popen.send_signal(signal.SIGTERM)

        assert supervisor.popen.wait(20) == 128 + signal.SIGTERM
        assert not alive(web) and not alive(worker)
    finally:
        supervisor.stop()


def test_a_process_that_keeps_failing_waits_longer_each_time(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text(f"web: {WAITING}\nbroken: {sys.executable} -c 'raise SystemExit(3)'\n")
    supervisor = Supervisor(procfile)
    try:
        supervisor.wait_for(r"broken exited with code 3; starting it again in 1 s")
        supervisor.wait_for(r"broken exited with code 3; starting it again in 2 s")
        supervisor.wait_for(r"broken exited with code 3; starting it again in 4 s")

        assert (
            alive(supervisor.pid("web"))
            and len([line for line in supervisor.lines if "web started" in line]) == 1
        )
    finally:
        supervisor.stop()
