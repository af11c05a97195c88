"""A TCP proxy whose client side can be cut while the server side stays open.

This is what a phone that loses its network looks like to a server: the
reader is gone, but no close or reset reaches the server, which goes on
writing (here the proxy reads and drops what it writes, as a kernel buffer
would take it for a while).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CuttingProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self._clients: list[socket.socket] = []
        self._servers: list[socket.socket] = []
        self._stop = threading.Event()

    def start(self) -> CuttingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def cut(self) -> None:
        """Close every client connection; the server's connections stay open."""
        self.cut_off.set()
        for client in self._clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked reading it
            client.close()

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()
        for connection in self._clients + self._servers:
            connection.close()

    def _accept(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client = self.listener.accept()[0]
            except (TimeoutError, OSError):
                continue
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._clients.append(client)
            self._servers.append(server)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if self.cut_off.is_set():
                continue  # the server's bytes go nowhere; it is not told
            try:
                target.sendall(data)
            except OSError:
                if source in self._servers:
                    continue  # the client is gone: keep draining the server
                return


@contextmanager
def cutting_proxy(upstream_port: int) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(upstream_port).start()
    try:
        yield proxy
    finally:
        proxy.stop()
