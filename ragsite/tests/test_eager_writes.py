"""Responses go to the socket when written; what it cannot take yet follows in order.

A real TCP connection on localhost, its server side in `EagerServer`; the reactor
is a recorder of what the connection asks it to watch (Twisted's own reactor would
run the loop that these tests drive by hand).
"""

from __future__ import annotations

import itertools
import select
import socket
import struct
import time
from collections.abc import Iterator

import pytest
from twisted.internet import protocol, tcp
from twisted.python.failure import Failure

from ragsite import eager_writes


class Reactor:
    """What a Twisted reactor is asked to watch (its method names), without running a loop."""

    def __init__(self) -> None:
        self.readers: set[object] = set()
        self.writers: set[object] = set()

    def addReader(self, reader: object) -> None:
        self.readers.add(reader)

    def removeReader(self, reader: object) -> None:
        self.readers.discard(reader)

    def addWriter(self, writer: object) -> None:
        self.writers.add(writer)

    def removeWriter(self, writer: object) -> None:
        self.writers.discard(writer)


@pytest.fixture
def connection() -> Iterator[tuple[eager_writes.EagerServer, socket.socket, Reactor]]:
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(listener.getsockname())
    accepted, address = listener.accept()
    listener.close()
    accepted.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    reactor = Reactor()
    server = eager_writes.EagerServer(accepted, protocol.Protocol(), address, None, 1, reactor)
    yield server, client, reactor
    client.close()
    accepted.close()


def received(client: socket.socket, wait: float = 0.5) -> bytes:
    """What has arrived within `wait` seconds of nothing more arriving."""
    data = b""
    while select.select([client], [], [], wait)[0]:
        chunk = client.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_write_with_nothing_waiting_is_sent_at_once(connection):
    server, client, reactor = connection
    server.write(b"event: token\ndata: Falcons\n\n")
    server.writeSequence([b"event: token\n", b"data: dive\n\n"])
    assert received(client) == b"event: token\ndata: Falcons\n\nevent: token\ndata: dive\n\n"
    assert not reactor.writers  # nothing left for the loop to send


def test_what_the_socket_does_not_take_follows_in_order(connection):
    server, client, reactor = connection
    pattern = itertools.cycle(range(256))
    big = bytes(next(pattern) for _ in range(2_000_000))  # more than both buffers hold
    server.write(big)
    assert server in reactor.writers  # the rest waits for the socket
    server.writeSequence([b"tail-", b"end"])
    server.write(b"!")
    got = b""
    deadline = time.monotonic() + 30
    while server in reactor.writers and time.monotonic() < deadline:
        got += received(client, wait=0.01)
        server.doWrite()  # the reactor's turn: the socket can take more
    got += received(client)
    assert len(got) == len(big) + len(b"tail-end!")
    assert got == big + b"tail-end!"


def test_a_connection_the_reader_dropped_ends_as_twisted_ends_it(connection):
    server, client, reactor = connection
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # a reset, as a reader who left
    time.sleep(0.1)
    server.write(b"event: token\ndata: Falcons\n\n")  # no error raised to the writer
    assert server in reactor.writers  # handed to Twisted's buffered write
    outcome = server.doWrite()
    assert isinstance(outcome, Exception)  # the reactor then closes the connection
    server.connectionLost(Failure(outcome))
    server.write(b"event: token\ndata: dive\n\n")  # after the loss: dropped, as Twisted does
    assert not reactor.writers


def test_daphnes_tcp_ports_use_it(monkeypatch):
    monkeypatch.setattr(tcp.Port, "transport", tcp.Server)
    eager_writes.install()
    assert tcp.Port.transport is eager_writes.EagerServer
