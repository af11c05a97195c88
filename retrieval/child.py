"""Run risky work (parsing an uploaded file) in a child process with a time and memory limit.

A pathological PDF or a DOCX whose XML unpacks to gigabytes can hang a parser
or eat the machine; in a thread it could never be stopped. Here it runs in a
process forked from a clean server process (`forkserver`: the worker's own
threads are not copied), limited to `memory_mb` of address space and killed
after `seconds`. The caller gets the result, the child's own error, or an
IngestionError that says which limit was hit.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from retrieval.errors import IngestionError, RagError

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(["retrieval.parsing"])


def run_limited[T](
    function: Callable[..., T], *args: Any, seconds: float, memory_mb: int, what: str
) -> T:
    """`function(*args)` in a child process; `what` names the work in errors."""
    receive, send = _context.Pipe(duplex=False)
    child = _context.Process(
        target=_child, args=(send, memory_mb, function, *args), name="limited", daemon=True
    )
    child.start()
    send.close()
    try:
        if not receive.poll(seconds):
            raise IngestionError(
                f"{what} took longer than {seconds:.0f} seconds, so it was stopped. The file "
                "may be damaged; try saving it again or in another format.",
                code="too_slow",
            )
        try:
            outcome, value = receive.recv()
        except EOFError:  # the child died without a word (most often, out of memory)
            child.join(5)
            raise IngestionError(
                f"{what} stopped unexpectedly; it may need more than {memory_mb} MB of memory.",
                code="too_large",
            ) from None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if outcome == "ok":
        return value
    kind, message, code = value
    if kind == "memory":
        raise IngestionError(
            f"{what} needed more than {memory_mb} MB of memory, so it was stopped.",
            code="too_large",
        )
    if kind == "rag":
        raise IngestionError(message, code=code)  # the parser's own words for the user
    raise RuntimeError(message)


def _child(send: Connection, memory_mb: int, function: Callable[..., Any], *args: Any) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        result: tuple[str, Any] = ("ok", function(*args))
    except MemoryError:
        result = ("error", ("memory", "", ""))
    except RagError as error:
        result = ("error", ("rag", error.message, error.code))
    except Exception as error:  # a parser bug: the parent logs it as unexpected
        result = ("error", ("other", f"{type(error).__name__}: {error}", ""))
    try:
        send.send(result)
    except MemoryError:
        send.send(("error", ("memory", "", "")))
    finally:
        send.close()
