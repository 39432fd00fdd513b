"""A local TCP relay in front of the test Redis, to make Redis silent or dead on demand.

``silent = True``: connections stay open but nothing is forwarded either way (a Redis that
accepts and never answers, a black-holed network). ``drop()`` closes every open connection
(a Redis restart); ``refuse()`` also stops accepting (Redis down) until ``accept()``.
``delay``: every reply reaches the client that many seconds after Redis sent it (a slow link or
a slow Redis), in order, without limiting throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlparse


class RedisRelay:
    def __init__(self, target_url: str) -> None:
        parsed = urlparse(target_url)
        self.target = (parsed.hostname or "127.0.0.1", parsed.port or 6379)
        self.db = parsed.path.lstrip("/") or "0"
        self.silent = False
        self.delay = 0.0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{self.db}"

    async def start(self) -> RedisRelay:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def accept(self) -> None:
        if self._server is None:
            await self.start()

    async def refuse(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.drop()

    async def drop(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task

    async def close(self) -> None:
        await self.refuse()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer)),
            asyncio.ensure_future(self._pump(up_reader, writer, replies=True)),
        ]
        for pump in pumps:
            self._tasks.add(pump)
            pump.add_done_callback(self._tasks.discard)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for w in (writer, up_writer):
            w.close()
            self._writers.discard(w)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, replies: bool = False
    ) -> None:
        loop = asyncio.get_running_loop()
        late: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def forward_late() -> None:
            while True:
                due, data = await late.get()
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()

        forwarder = asyncio.ensure_future(forward_late()) if replies else None
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                if self.silent:  # swallowed, the other side waits forever
                    continue
                if forwarder is not None and (self.delay > 0 or not late.empty()):
                    late.put_nowait((loop.time() + self.delay, data))
                else:
                    writer.write(data)
                    await writer.drain()
        finally:
            if forwarder is not None:
                forwarder.cancel()
