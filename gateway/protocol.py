"""The HTTP protocol of the listeners: uvicorn's httptools protocol with a header-read timeout.

uvicorn closes idle keep-alive connections but not a connection that sends its request line and then
trickles its headers (slowloris): 400 such connections stayed open for ever. Here every request must
have sent all its headers within ``header_timeout_s`` of its first byte (or of the connection), or
the connection is closed. Bodies have their own timeout (``limits.body_timeout_s``, in the gateway).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def header_timeout_protocol(timeout_s: float) -> type[HttpToolsProtocol]:
    """An ``HttpToolsProtocol`` subclass closing connections whose headers take over ``timeout_s``."""

    class HeaderTimeoutProtocol(HttpToolsProtocol):
        header_timeout_s = timeout_s

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer: asyncio.TimerHandle | None = None
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            timer = getattr(self, "_header_timer", None)
            if timer is not None:
                timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol
