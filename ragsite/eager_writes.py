"""daphne's responses sent to the socket as they are written, not on the reactor's next turn.

Twisted buffers every write on a TCP connection and asks the event loop to say
when the socket can take it: register a writer, wake, send, unregister. For a
streamed answer that was two epoll_ctl calls and a turn of the loop per token
where one send does (at 300 streams, 9% of the event loop's time per token,
bench/RESULTS.md). Here a write to a connection with nothing waiting to be sent
goes to the socket at once, as asyncio's transports do; whatever the socket does
not take, or a write while earlier data still waits, or a connection closing or
lost, goes Twisted's own way: buffered, sent in order, errors handled as before.

`install` makes the TCP ports that daphne opens use it (ragsite/web.py). It reads
Twisted's buffer attributes, so requirements.txt pins Twisted's version.
"""

from __future__ import annotations

from collections.abc import Iterable

from twisted.internet import tcp


class EagerServer(tcp.Server):
    """A TCP server connection whose writes try the socket first."""

    def write(self, data: bytes) -> None:
        if type(data) is bytes and data and self._nothing_waiting():
            data = self._send_now(data)
            if not data:
                return
        super().write(data)

    def writeSequence(self, iovec: Iterable[bytes]) -> None:
        iovec = list(iovec)
        if all(type(part) is bytes for part in iovec) and self._nothing_waiting():
            rest = self._send_now(b"".join(iovec))
            if rest:
                super().write(rest)
            return
        super().writeSequence(iovec)

    def _nothing_waiting(self) -> bool:
        """Whether a send now keeps the order and state Twisted's buffer would."""
        return (
            self.connected
            and not self.TLS
            and not self.disconnecting
            and not self._writeDisconnecting
            and not self._writeDisconnected
            and not self.producerPaused
            and not self._tempDataBuffer
            and self.offset == len(self.dataBuffer)
        )

    def _send_now(self, data: bytes) -> bytes:
        """What the socket did not take; all of it when the send failed, so that
        Twisted's buffered write meets the failure and closes the connection."""
        sent = self.writeSomeData(data)
        if not isinstance(sent, int) or sent <= 0:
            return data
        return data[sent:]


def install() -> None:
    tcp.Port.transport = EagerServer
