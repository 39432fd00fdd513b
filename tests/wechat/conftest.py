from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest

from bot.app import create_app, default_routers
from bot.dispatch import Router
from bot.messages import Inbound, Reply, TextReply
from bot.ports import RecordingNotifier
from tests.conftest import OA_AES_KEY, OA_APPID, OA_TOKEN
from tests.wechat_client import WeChatPoster


@dataclass
class Probe:
    """A router whose handlers record every call, for counting dispatches."""

    calls: list[tuple[str, str, float, float]] = field(default_factory=list)
    fail_next: int = 0
    router: Router = field(default_factory=lambda: Router("probe"))

    def __post_init__(self) -> None:
        r = self.router

        @r.text(regex=r"^echo (.+)$")
        async def echo(message: Inbound, match) -> Reply:
            start = time.monotonic()
            self.calls.append(("echo", message.openid, start, time.monotonic()))
            return TextReply(f"echo:{match.group(1)}")

        @r.text(regex=r"^slow (\d+(?:\.\d+)?)$")
        async def slow(message: Inbound, match) -> Reply:
            start = time.monotonic()
            await asyncio.sleep(float(match.group(1)))
            self.calls.append(("slow", message.openid, start, time.monotonic()))
            return TextReply(f"slept {match.group(1)}")

        @r.text(equals="boom")
        async def boom(message: Inbound) -> Reply:
            self.calls.append(("boom", message.openid, time.monotonic(), time.monotonic()))
            if self.fail_next > 0:
                self.fail_next -= 1
                raise RuntimeError("handler exploded")
            return TextReply("recovered")

    def count(self, name: str) -> int:
        return sum(1 for c in self.calls if c[0] == name)


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def bot_client(aiohttp_client, make_settings, probe, notifier):
    async def make(mode: str = "safe", **overrides):
        settings = make_settings(oa_mode=mode, **overrides)
        app = create_app(
            settings, notifier=notifier, routers=[probe.router, *default_routers()], background=False
        )
        client = await aiohttp_client(app)
        poster = WeChatPoster(client, OA_APPID, OA_TOKEN, aes_key=OA_AES_KEY, mode=mode)
        return client, poster

    return make
