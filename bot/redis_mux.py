"""A multiplexed Redis connection for the callback's hot path.

redis-py's asyncio client spends about 150-200 us of CPU per command on this machine (pool
checkout, packing, parsing, timeouts): more than aiohttp spends on a whole HTTP request. Redis
answers the commands of one connection strictly in order, so every coroutine can share ONE
connection: a command is appended to a write buffer that is flushed once per event-loop turn
(many callbacks' commands leave in one ``send``) and a FIFO of futures receives the replies,
parsed by hiredis. This is the auto-pipelining ioredis does; it brings a command to a few tens of
microseconds and gives concurrent callbacks amortised round trips.

Only short, non-blocking commands belong here (EVALSHA, SET, XADD...). Blocking reads
(XREADGROUP BLOCK), pub/sub and transactions stay on redis-py.

Deadlines: connecting is bounded by ``connect_timeout``, and every reply by ``command_timeout``.
A server that accepts the connection but stops answering (or a network that silently drops it)
is detected by ONE timer per flush, not per command: replies arrive in order, so if the last
command written by a flush has not been answered ``command_timeout`` later, the connection is
declared dead, every waiting command fails with ``redis.exceptions.TimeoutError`` and the next
command opens a new connection.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Protocol
from urllib.parse import unquote, urlparse

import hiredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

CommandArg = bytes | str | int | float
Command = tuple[CommandArg, ...]


class Mux(Protocol):
    """What the hot path needs from Redis: one command, or several sent together."""

    async def execute(self, *args: CommandArg) -> object: ...

    async def execute_many(self, commands: list[tuple[CommandArg, ...]]) -> list[object]: ...

    async def aclose(self) -> None: ...


def _encode_py(args: tuple[CommandArg, ...]) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int):
            data = b"%d" % arg
        else:
            data = repr(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


# hiredis packs RESP in C (3x faster); the Python version documents the format and is the fallback.
_encode = getattr(hiredis, "pack_command", None) or _encode_py


class _Protocol(asyncio.Protocol):
    """One connection: its own FIFO of waiting futures and counters of commands written and
    replies read (the stall detector compares them)."""

    def __init__(self, mux: MuxRedis) -> None:
        self.mux = mux
        self.reader = hiredis.Reader(protocolError=RedisConnectionError, replyError=ResponseError)
        self.waiting: collections.deque[asyncio.Future[object]] = collections.deque()
        self.sent = 0
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.waiting
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            self.received += 1
            if not waiting:  # a reply after the connection was declared dead
                return
            future = waiting.popleft()
            if future.done():  # the caller gave up (cancelled); the reply is dropped
                continue
            if isinstance(reply, ResponseError):
                message = str(reply)
                future.set_exception(NoScriptError(message) if message.startswith("NOSCRIPT") else reply)
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.mux._lost(self, RedisConnectionError(f"redis connection lost: {exc}"))


class MuxRedis:
    """One shared connection, commands pipelined across coroutines; reconnects on demand."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0, command_timeout: float = 2.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("redis", ""):
            raise ValueError("the multiplexed client speaks plain redis:// only")
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 6379
        self.password = unquote(parsed.password) if parsed.password else None
        self.username = unquote(parsed.username) if parsed.username else None
        self.db = int(parsed.path.lstrip("/") or 0)
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._buffer: list[bytes] = []
        self._flush_scheduled = False

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: _Protocol(self), self.host, self.port), self.connect_timeout
            )
        except TimeoutError:
            raise RedisTimeoutError(f"redis connect to {self.host}:{self.port} timed out") from None
        except OSError as exc:
            raise RedisConnectionError(f"redis connect to {self.host}:{self.port} failed: {exc}") from None
        self._protocol = protocol
        setup: list[tuple[CommandArg, ...]] = []
        if self.password:
            setup.append(("AUTH", self.username, self.password) if self.username else ("AUTH", self.password))
        if self.db:
            setup.append(("SELECT", self.db))
        for args in setup:
            await self._send(args)

    async def _ensure(self) -> None:
        if self._protocol is not None:
            return
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            await asyncio.shield(connecting)
        finally:
            if self._connecting is connecting and connecting.done():
                self._connecting = None

    def _send(self, args: tuple[CommandArg, ...]) -> asyncio.Future[object]:
        assert self._protocol is not None
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._protocol.waiting.append(future)
        self._buffer.append(_encode(args))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        protocol = self._protocol
        if protocol is not None and self._buffer:
            protocol.transport.write(b"".join(self._buffer))  # type: ignore[attr-defined]
            protocol.sent += len(self._buffer)
            asyncio.get_running_loop().call_later(self.command_timeout, self._check, protocol, protocol.sent)
        self._buffer.clear()

    def _check(self, protocol: _Protocol, expected: int) -> None:
        """``command_timeout`` after a flush: were its commands answered? If not, the server or
        the network is silent and the connection is given up."""
        if protocol.received < expected and protocol is self._protocol:
            self._lost(protocol, RedisTimeoutError(f"redis did not answer within {self.command_timeout}s"))
            protocol.transport.close()

    def _lost(self, protocol: _Protocol, error: RedisError) -> None:
        if protocol is self._protocol:
            self._protocol = None
            self._buffer.clear()
        while protocol.waiting:
            future = protocol.waiting.popleft()
            if not future.done():
                future.set_exception(error)

    async def execute(self, *args: CommandArg) -> object:
        await self._ensure()
        return await self._send(args)

    async def execute_many(self, commands: list[tuple[CommandArg, ...]]) -> list[object]:
        """Several commands in order, sent together; errors are returned in place, not raised."""
        await self._ensure()
        futures = [self._send(args) for args in commands]
        # The replies arrive in order in one read: awaiting them one by one costs less than gather.
        results: list[object] = []
        for future in futures:
            try:
                results.append(await future)
            except RedisError as exc:  # ResponseError, connection lost, no answer in time
                results.append(exc)
        return results

    async def aclose(self) -> None:
        protocol = self._protocol
        if protocol is not None:
            self._lost(protocol, RedisConnectionError("redis connection closed"))
            protocol.transport.close()


class ClientMux:
    """The same two calls over a redis-py client: for the in-process stand-in (fakeredis) and
    for connections the multiplexer does not speak (TLS, unix sockets)."""

    def __init__(self, client: object) -> None:
        self.client = client

    async def execute(self, *args: CommandArg) -> object:
        return await self.client.execute_command(*args)  # type: ignore[attr-defined]

    async def execute_many(self, commands: list[tuple[CommandArg, ...]]) -> list[object]:
        pipe = self.client.pipeline(transaction=False)  # type: ignore[attr-defined]
        for args in commands:
            pipe.execute_command(*args)
        return list(await pipe.execute(raise_on_error=False))

    async def aclose(self) -> None:
        return None


class Script:
    """A Lua script run by EVALSHA over a mux, loaded on first NOSCRIPT (e.g. after a restart)."""

    def __init__(self, mux: Mux, source: str) -> None:
        import hashlib

        self.mux = mux
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def command(self, keys: list[CommandArg], args: list[CommandArg]) -> tuple[CommandArg, ...]:
        return ("EVALSHA", self.sha, len(keys), *keys, *args)

    async def __call__(self, keys: list[CommandArg], args: list[CommandArg]) -> object:
        try:
            return await self.mux.execute(*self.command(keys, args))
        except NoScriptError:
            await self.mux.execute("SCRIPT", "LOAD", self.source)
            return await self.mux.execute(*self.command(keys, args))

    async def load(self) -> None:
        await self.mux.execute("SCRIPT", "LOAD", self.source)
