"""A flash-sale rush as store owners make it: half in chat (each message delivered three times
at once, as WeChat does when the first answer is slow), half in the mini-program (each button
pressed twice with one request key). Shared by tests/campaigns/test_rush.py and
bench/flash_sale.py."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from tests.campaigns.conftest import Buyer, Shop

WON, SOLD_OUT = "won", "sold_out"


@dataclass
class RushResult:
    outcomes: dict[str, str] = field(default_factory=dict)  # openid -> won | sold_out | other text
    latencies: list[float] = field(default_factory=list)  # seconds, one per buyer (first answer)
    seconds: float = 0.0

    def count(self, outcome: str) -> int:
        return sum(1 for v in self.outcomes.values() if v == outcome)

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _chat_outcome(texts: list[str]) -> str | None:
    if any("抢购成功" in t for t in texts):
        return WON
    if any("抢光" in t for t in texts):
        return SOLD_OUT
    return None


async def rush(shop: Shop, buyers: list[Buyer], promotion_id: int, *, tag: str = "r") -> RushResult:
    result = RushResult()

    async def chat(i: int, buyer: Buyer) -> None:
        msg_id = f"{abs(hash((tag, i))) % 10**12 + 10**12}"
        start = time.perf_counter()
        replies = await asyncio.gather(
            *(shop.say(buyer.openid, f"抢{promotion_id}", msg_id=msg_id) for _ in range(3))
        )
        result.latencies.append(time.perf_counter() - start)
        outcome = _chat_outcome([r for r in replies if r])
        if outcome is None:  # answered late through the notifier (WeChat got an ack in time)
            for _ in range(100):
                late = [
                    str(getattr(r, "content", r))
                    for p, r, _k in shop.notifier.sent
                    if p.openid == buyer.openid
                ]
                outcome = _chat_outcome(late)
                if outcome:
                    break
                await asyncio.sleep(0.1)
        result.outcomes[buyer.openid] = outcome or "|".join(r or "" for r in replies)

    async def mini(i: int, buyer: Buyer) -> None:
        body = {"bottles": 1, "request_key": f"{tag}-rush-{i:06d}"}
        path = f"/mp/api/promotions/{promotion_id}/buy"
        start = time.perf_counter()
        taps = await asyncio.gather(*(shop.mp("POST", path, buyer.token, body) for _ in range(2)))
        result.latencies.append(time.perf_counter() - start)
        statuses = {s for s, _ in taps}
        if statuses == {201}:
            orders = {b["order"]["order_id"] for _, b in taps}
            result.outcomes[buyer.openid] = WON if len(orders) == 1 else f"two orders {orders}"
        elif all(b.get("reason") == "sold_out" for _, b in taps):
            result.outcomes[buyer.openid] = SOLD_OUT
        else:
            result.outcomes[buyer.openid] = repr(taps)

    start = time.perf_counter()
    await asyncio.gather(*((chat if i % 2 == 0 else mini)(i, b) for i, b in enumerate(buyers)))
    result.seconds = time.perf_counter() - start
    return result
