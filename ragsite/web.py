"""The web process: daphne, on uvloop's event loop.

daphne makes its event loop when `daphne.server` is first imported, with
asyncio's default policy; Twisted's asyncio reactor runs on uvloop's loop as
well (Twisted 21.7 and later). So uvloop's policy is set first, and the command
line goes to daphne's own:

    python -m ragsite.web -e tcp:port=8000:interface=127.0.0.1 ragsite.asgi:application

takes exactly daphne's arguments (the Procfile's `web` line). uvloop's loop does
the same work for less CPU: about 0.7 ms less before each answer's first token
(bench/RESULTS.md). Responses go to the socket as they are written
(ragsite.eager_writes), and new tasks start at once (ragsite.eager_tasks).
With more than one core (or WEB_PROCESSES above 1) the command starts that many
daphne processes on one socket (ragsite.web_processes).
"""

from __future__ import annotations

import asyncio
import sys

import uvloop

from ragsite import eager_tasks, eager_writes, web_processes


def main() -> None:
    if (status := web_processes.serve(sys.argv[1:])) is not None:
        raise SystemExit(status)
    web_processes.die_with_parent()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    eager_writes.install()
    from daphne.cli import CommandLineInterface  # makes daphne's loop: after the policy
    from daphne.server import twisted_loop

    eager_tasks.install(twisted_loop)

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
