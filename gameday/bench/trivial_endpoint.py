"""A trivial HTTP endpoint for `gameday bench load`: answers every request 202, fast.

It must outrun the load generator, or the benchmark would measure the server: a
bare asyncio protocol (keep-alive, Content-Length bodies, no framework) serves
many thousands of requests/s on one core. ``--delay-ms`` slows every answer,
to show that the arrival-rate scheduler keeps its schedule when the system does
not. Bound to 127.0.0.1.

    python -m gameday.bench.trivial_endpoint --port 8099 [--delay-ms 300]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools

_HEAD_END = b"\r\n\r\n"
_COUNTER = itertools.count()


def _response() -> bytes:
    body = b'{"eventId":"%d","status":"accepted"}' % next(_COUNTER)
    return (
        b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


class _Connection(asyncio.Protocol):
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(_HEAD_END)) >= 0:
            head = self.buffer[:end].lower()
            length = 0
            if (at := head.find(b"content-length:")) >= 0:
                length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            total = end + 4 + length
            if len(self.buffer) < total:
                return  # the body is still arriving
            self.buffer = self.buffer[total:]
            if self.delay:
                asyncio.get_running_loop().call_later(self.delay, self._answer)
            else:
                self._answer()

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_response())


async def serve(port: int, delay_ms: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(delay_ms / 1000), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port, args.delay_ms))


if __name__ == "__main__":
    main()
