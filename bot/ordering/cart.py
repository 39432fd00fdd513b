"""Carts in Redis: one per member, versioned, kept ``ttl`` seconds after the last change.

A cart survives a dropped conversation (the flow state may expire first: "购物车" shows it again).
Every change is a compare-and-set on the version in one Lua call, so the chat (serialised by the
member lock) and the mini-program API (not serialised) never lose each other's updates; a caller
that passes ``expect`` gets CART_CHANGED instead of overwriting a newer cart.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Callable, Iterable

import orjson
import redis.asyncio as aioredis

from bot.ordering.errors import ChatErrorCode, ChatOrderingError
from bot.ordering.views import Cart, CartLine
from bot.redis import Keys

# KEYS[1] cart; ARGV: expected version ("" = any), new version, document, ttl
_CAS = """
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] ~= '' and (current or '0') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'doc', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
"""

Change = Callable[[Cart], Cart]


def _encode(cart: Cart) -> bytes:
    return orjson.dumps(
        {
            "id": cart.id,
            "store": cart.core_store_id,
            "at": cart.updated_at,
            "lines": [[li.sku, li.name, li.cases, li.bottles, li.bottles_per_case] for li in cart.lines],
        }
    )


def _decode(version: bytes | str | None, doc: bytes | str) -> Cart:
    if version is None:  # written with the document in one HSET: never missing beside it
        raise ValueError("a cart document without its version")
    data = orjson.loads(doc)
    lines = tuple(CartLine(*raw) for raw in data["lines"])
    return Cart(data["id"], int(version), int(data["store"]), lines, float(data.get("at", 0)))


def merge(lines: Iterable[CartLine], added: Iterable[CartLine]) -> tuple[CartLine, ...]:
    """Add lines; the same SKU adds up (cases to cases, bottles to bottles), order is kept."""
    out = {li.sku: li for li in lines}
    for li in added:
        old = out.get(li.sku)
        out[li.sku] = (
            li
            if old is None
            else CartLine(
                li.sku, li.name, old.cases + li.cases, old.bottles + li.bottles, li.bottles_per_case
            )
        )
    return tuple(li for li in out.values() if li.total_bottles > 0)


class CartStore:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, *, ttl: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl = ttl
        self.clock = clock
        self._cas = redis.register_script(_CAS)

    def _key(self, tenant_id: int, member_id: int) -> str:
        return self.keys("cart", str(tenant_id), str(member_id))

    async def get(self, tenant_id: int, member_id: int) -> Cart | None:
        version, doc = await self.redis.hmget(self._key(tenant_id, member_id), ["v", "doc"])
        return _decode(version, doc) if doc else None

    async def change(
        self, tenant_id: int, member_id: int, core_store_id: int, fn: Change, *, expect: int | None = None
    ) -> Cart:
        """Apply ``fn`` to the current cart (an empty one if none, or if it was for another store)."""
        key = self._key(tenant_id, member_id)
        for attempt in range(32):
            if attempt:
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))  # another writer won: back off
            current = await self.get(tenant_id, member_id)
            if expect is not None and (current.version if current else 0) != expect:
                raise ChatOrderingError(ChatErrorCode.CART_CHANGED, str(expect))
            base = current
            if base is None or base.core_store_id != core_store_id or base.empty:
                # a new cart gets a new id: its orders get keys no earlier cart ever used
                base = Cart(secrets.token_hex(8), current.version if current else 0, core_store_id)
            changed = fn(base)
            new = Cart(base.id, base.version + 1, core_store_id, changed.lines, self.clock())
            stored = current.version if current else 0
            if await self._cas(keys=[key], args=[str(stored), str(new.version), _encode(new), self.ttl]):
                return new
            if expect is not None:
                raise ChatOrderingError(ChatErrorCode.CART_CHANGED, str(expect))
        raise ChatOrderingError(ChatErrorCode.CART_CHANGED, "contended")

    async def add(
        self, tenant_id: int, member_id: int, core_store_id: int, lines: Iterable[CartLine], **kw: int
    ) -> Cart:
        added = list(lines)
        return await self.change(
            tenant_id, member_id, core_store_id, lambda c: _with(c, merge(c.lines, added)), **kw
        )

    async def replace(
        self, tenant_id: int, member_id: int, core_store_id: int, lines: Iterable[CartLine], **kw: int
    ) -> Cart:
        new = merge((), lines)
        return await self.change(tenant_id, member_id, core_store_id, lambda c: _with(c, new), **kw)

    async def set_line(
        self, tenant_id: int, member_id: int, core_store_id: int, line: CartLine, **kw: int
    ) -> Cart:
        """Set one SKU's quantity (0 removes it)."""

        def fn(cart: Cart) -> Cart:
            if cart.line(line.sku) is None and line.total_bottles > 0:
                return _with(cart, (*cart.lines, line))
            return _with(
                cart,
                tuple(
                    line if li.sku == line.sku else li
                    for li in cart.lines
                    if li.sku != line.sku or line.total_bottles > 0
                ),
            )

        return await self.change(tenant_id, member_id, core_store_id, fn, **kw)

    async def remove(self, tenant_id: int, member_id: int, core_store_id: int, sku: str, **kw: int) -> Cart:
        return await self.change(
            tenant_id,
            member_id,
            core_store_id,
            lambda c: _with(c, tuple(li for li in c.lines if li.sku != sku)),
            **kw,
        )

    async def bump(self, tenant_id: int, member_id: int, core_store_id: int, **kw: int) -> Cart:
        """A new version with the same lines: after the core refused an order, the next confirm
        must carry a new Idempotency-Key (the core stores refusals under the old one)."""
        return await self.change(tenant_id, member_id, core_store_id, lambda c: c, **kw)

    async def clear(self, tenant_id: int, member_id: int) -> None:
        current = await self.get(tenant_id, member_id)
        if current is not None and not current.empty:
            await self.change(tenant_id, member_id, current.core_store_id, lambda c: _with(c, ()))

    async def bump_if(self, tenant_id: int, member_id: int, cart_id: str) -> bool:
        """``bump`` only if the cart is still the one that was ordered."""
        current = await self.get(tenant_id, member_id)
        if current is None or current.id != cart_id or current.empty:
            return False
        await self.change(tenant_id, member_id, current.core_store_id, lambda c: c, expect=current.version)
        return True

    async def clear_if(self, tenant_id: int, member_id: int, cart_id: str) -> bool:
        """Empty the cart only if it is still the one that was ordered (not a newer one)."""
        current = await self.get(tenant_id, member_id)
        if current is None or current.id != cart_id:
            return False
        await self.change(
            tenant_id, member_id, current.core_store_id, lambda c: _with(c, ()), expect=current.version
        )
        return True


def _with(cart: Cart, lines: tuple[CartLine, ...]) -> Cart:
    return Cart(cart.id, cart.version, cart.core_store_id, lines, cart.updated_at)
