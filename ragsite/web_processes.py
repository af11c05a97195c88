"""One daphne process per core, all accepting connections on one listening socket.

daphne serves from one process, and a process's event loop uses one core: under
300 people asking at once on 2 cores, questions waited for the one loop to
prepare them while it relayed the others' tokens (bench/RESULTS.md). So the web
command binds the socket that its `-e tcp:...` endpoint names and starts
WEB_PROCESSES daphne processes (one per usable core when unset) that adopt it
(daphne's `--fd`). A new connection goes to whichever process accepts it first,
so a busy one takes fewer. ragsite.supervisor keeps them: one that dies is
started again alone while the others go on serving, and SIGTERM or SIGINT stops
them all. Each process dies with the one that started it (PR_SET_PDEATHSIG), so
none is left holding the port.

Written here because daphne has no processes of its own, and the process
managers that have (gunicorn, uvicorn --workers) serve through another server.
"""

from __future__ import annotations

import ctypes
import os
import re
import shlex
import signal
import socket
import sys
from dataclasses import dataclass

from ragsite import supervisor

PARENT = "RAGSITE_WEB_PARENT"  # set in each process started here: the starter's pid
STOP_SECONDS = 8.0  # below bin/run's own 10 s, so that it is the processes that are killed
TWISTED_BACKLOG = 50  # Twisted's default, when the endpoint names none


@dataclass(frozen=True)
class TcpEndpoint:
    port: int
    interface: str
    backlog: int


def wanted() -> int:
    """WEB_PROCESSES, or the cores this process may run on."""
    value = os.environ.get("WEB_PROCESSES", "").strip()
    if not value:
        return len(os.sched_getaffinity(0))
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"WEB_PROCESSES must be a whole number of at least 1, not {value!r}")
    return int(value)


def parse_tcp(description: str) -> TcpEndpoint | None:
    """A Twisted `tcp:` server endpoint (`tcp:8000`, `tcp:port=8000:interface=…:backlog=…`)."""
    kind, *parts = re.split(r"(?<!\\):", description)
    if kind != "tcp":
        return None
    options: dict[str, str] = {}
    for part in parts:
        key, equals, value = part.partition("=")
        if not equals:
            key, value = "port", key  # the port may come first, without its name
        if key not in {"port", "interface", "backlog"} or key in options:
            return None
        options[key] = value.replace("\\:", ":")
    if not options.get("port", "").isdigit() or not options.get("backlog", "1").isdigit():
        return None
    return TcpEndpoint(
        port=int(options["port"]),
        interface=options.get("interface", ""),
        backlog=int(options.get("backlog", TWISTED_BACKLOG)),
    )


def split_endpoint(argv: list[str]) -> tuple[TcpEndpoint, list[str]] | None:
    """The one IPv4 TCP endpoint of daphne's arguments, and the other arguments.

    None when they name another kind of address, or more than one: those are
    served from one process, as daphne alone would.
    """
    endpoints: list[str] = []
    rest: list[str] = []
    arguments = iter(argv)
    for argument in arguments:
        name, equals, value = argument.partition("=")
        if name in {"-e", "--endpoint"}:
            endpoints.append(value if equals else next(arguments, ""))
        elif name in {"-b", "--bind", "-p", "--port", "-u", "--unix-socket", "--fd"}:
            return None
        else:
            rest.append(argument)
    if len(endpoints) != 1 or (endpoint := parse_tcp(endpoints[0])) is None:
        return None
    if ":" in endpoint.interface:  # daphne's --fd adopts IPv4 sockets only
        return None
    return endpoint, rest


def serve(argv: list[str]) -> int | None:
    """Serve from several processes until stopped (their exit status), or None for one."""
    count = wanted()
    if count == 1 or PARENT in os.environ:
        return None
    found = split_endpoint(argv)
    if found is None:
        print(
            "web | several processes need one IPv4 `-e tcp:...` endpoint; serving from one",
            file=sys.stderr,
            flush=True,
        )
        return None
    endpoint, rest = found
    listener = socket.create_server((endpoint.interface, endpoint.port), backlog=endpoint.backlog)
    descriptor = listener.fileno()
    os.environ.update({"WEB_PROCESSES": "1", PARENT: str(os.getpid())})
    command = shlex.join([sys.executable, "-m", "ragsite.web", "--fd", str(descriptor), *rest])
    supervisor.LABEL = "web"
    processes = [
        supervisor.Process(f"process {number}", command, pass_fds=(descriptor,))
        for number in range(1, count + 1)
    ]
    try:
        return supervisor.run(processes, stop_seconds=STOP_SECONDS)
    finally:
        listener.close()


def die_with_parent() -> None:
    """In a process started by serve(): receive SIGTERM when the starter dies."""
    parent = os.environ.get(PARENT)
    if parent is None or not sys.platform.startswith("linux"):
        return
    set_parent_death_signal = 1  # PR_SET_PDEATHSIG, <linux/prctl.h>
    ctypes.CDLL(None, use_errno=True).prctl(set_parent_death_signal, signal.SIGTERM)
    if os.getppid() != int(parent):  # it died before the line above
        raise SystemExit(0)
