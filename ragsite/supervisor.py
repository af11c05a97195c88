"""Run the Procfile's processes and keep them running until told to stop.

    python -m ragsite.supervisor [Procfile]

honcho, which `bin/run` used before, stops every process as soon as one exits:
a worker killed by the out-of-memory killer took the web server down with it.
Here a process that exits is started again after a back-off that doubles while
it keeps dying (1 s up to 30 s; back to 1 s once it has run a minute), each
time with a line saying so. SIGINT or SIGTERM stops every process (SIGTERM,
then SIGKILL after STOP_SECONDS) and exits 130 or 143.

Written here because none of the process managers on PyPI fits in a line of
`bin/run`: honcho does not restart, supervisord and circus are daemons with
configuration files of their own. The Procfile is read by honcho's parser.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FIRST_BACKOFF = 1.0
LONGEST_BACKOFF = 30.0
STEADY_SECONDS = 60.0  # a process that ran this long starts again after FIRST_BACKOFF
STOP_SECONDS = 10.0
TICK = 0.2
LABEL = "supervisor"  # what its lines start with (the web command's processes: "web")


def say(text: str) -> None:
    print(f"{LABEL} | {text}", flush=True)


@dataclass
class Process:
    name: str
    command: str
    popen: subprocess.Popen | None = None
    started: float = 0.0
    backoff: float = FIRST_BACKOFF
    restart_at: float | None = None
    pass_fds: tuple[int, ...] = ()  # descriptors it inherits (a listening socket)

    def start(self) -> None:
        # Through the shell, as honcho does (`${PORT:-8000}`); `exec` makes the
        # command itself the process that signals reach. A session of its own,
        # so that a terminal's Ctrl+C reaches the supervisor, which stops it.
        self.popen = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {self.command}"],
            start_new_session=True,
            pass_fds=self.pass_fds,
        )
        self.started = time.monotonic()
        self.restart_at = None
        say(f"{self.name} started (pid {self.popen.pid})")

    def check(self, now: float) -> None:
        """Notice an exit and schedule the restart; restart when its time has come."""
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start()
            return
        assert self.popen is not None
        code = self.popen.poll()
        if code is None:
            return
        if now - self.started >= STEADY_SECONDS:
            self.backoff = FIRST_BACKOFF
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        say(f"{self.name} {how}; starting it again in {self.backoff:g} s")
        self.restart_at = now + self.backoff
        self.backoff = min(self.backoff * 2, LONGEST_BACKOFF)

    def signal(self, number: int) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, number)


def read_procfile(path: Path) -> list[Process]:
    from honcho.environ import parse_procfile

    entries = parse_procfile(path.read_text()).processes
    return [Process(name, command) for name, command in entries.items()]


def run(processes: list[Process], stop_seconds: float = STOP_SECONDS) -> int:
    stop: list[int] = []

    def stopping(number: int, _frame: object) -> None:
        stop.append(number)

    signal.signal(signal.SIGINT, stopping)
    signal.signal(signal.SIGTERM, stopping)
    for process in processes:
        process.start()
    while not stop:
        now = time.monotonic()
        for process in processes:
            process.check(now)
        time.sleep(TICK)
    say("stopping")
    for process in processes:
        process.signal(signal.SIGTERM)
    deadline = time.monotonic() + stop_seconds
    for process in processes:
        if process.popen is None:
            continue
        try:
            process.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{process.name} did not stop in {stop_seconds:g} s; killing it")
            process.signal(signal.SIGKILL)
            process.popen.wait()
    return 128 + stop[0]


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "Procfile")
    return run(read_procfile(path))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
