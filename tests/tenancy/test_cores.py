"""``CoreDirectory`` (pure unit: a dict stands in for the tenants table, objects for clients)."""

from __future__ import annotations

import asyncio

import pytest

from bot.tenancy.cores import CoreConfig, CoreDirectory, CoreNotConfigured

DEFAULT = CoreConfig("http://core", "key", "hook-secret-0123456789", own=False)
OWN = CoreConfig("http://core-b", "key-b", "hook-secret-b-0123456789")


def _directory(table: dict[int, CoreConfig | None], *, default: CoreConfig | None = DEFAULT, ttl=60.0):
    reads: list[int] = []
    made: list[CoreConfig] = []

    async def load(tenant_id: int) -> CoreConfig | None:
        reads.append(tenant_id)
        await asyncio.sleep(0)  # let concurrent callers pile up behind the lock
        return table.get(tenant_id)

    def make(config: CoreConfig) -> object:
        made.append(config)
        return object()

    return CoreDirectory(load, default, make, ttl=ttl), reads, made  # type: ignore[arg-type]


async def test_tenants_without_a_core_share_the_default_client_and_one_with_its_own_gets_its_own():
    directory, _reads, made = _directory({2: OWN})
    default_1, default_3, own = [await directory.client(t) for t in (1, 3, 2)]
    assert default_1 is default_3 and own is not default_1
    assert made == [DEFAULT, OWN]
    assert await directory.config(2) == OWN and await directory.config(1) == DEFAULT


async def test_a_configuration_is_read_once_per_period_however_many_callers_ask():
    directory, reads, _made = _directory({2: OWN})
    clients = await asyncio.gather(*(directory.client(2) for _ in range(20)))
    assert reads == [2] and len({id(c) for c in clients}) == 1


async def test_a_changed_configuration_gets_a_new_client_after_invalidate_or_the_period():
    table: dict[int, CoreConfig | None] = {2: OWN}
    directory, _reads, _made = _directory(table)
    before = await directory.client(2)
    rotated = CoreConfig(OWN.url, "key-b2", OWN.webhook_secret)
    table[2] = rotated
    assert await directory.client(2) is before  # cached within the period
    directory.invalidate(2)
    after = await directory.client(2)
    assert after is not before and await directory.config(2) == rotated
    assert OWN not in directory._clients  # the old key's client is dropped
    quick, _r, _m = _directory(table, ttl=0.0)
    first = await quick.client(2)
    table[2] = None  # back on the default core: seen at the next read
    assert await quick.client(2) is not first and await quick.config(2) == DEFAULT


async def test_no_default_and_no_own_core_is_core_not_configured():
    directory, _reads, _made = _directory({2: OWN}, default=None)
    assert await directory.client(1) is None
    with pytest.raises(CoreNotConfigured):
        await directory.require(1)
    assert await directory.require(2) is not None
    assert directory.configured


def test_secrets_never_appear_in_a_repr():
    assert "key-b" not in repr(OWN) and "hook-secret" not in repr(OWN) and "http://core-b" in repr(OWN)
