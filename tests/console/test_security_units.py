"""Passwords, sessions (idle and absolute expiry, rotation) and the address throttle, over real
Redis with a clock the test moves."""

from __future__ import annotations

from bot.console import passwords
from bot.console.lockout import AddressThrottle
from bot.console.sessions import SessionStore
from bot.redis import Keys
from tests.console.clock import FakeClock


def test_password_hash_is_argon2id_salted_and_verifies_only_the_right_password():
    first = passwords.hash_password("correct horse 42")
    second = passwords.hash_password("correct horse 42")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert passwords.verify_password(first, "correct horse 42")
    assert not passwords.verify_password(first, "correct horse 43")
    assert not passwords.verify_password("not a hash", "correct horse 42")
    assert not passwords.verify_password(first, "x" * 10_000)
    assert not passwords.needs_rehash(first)


def test_password_rules():
    assert passwords.password_problem("short1") == "password_too_short"
    assert passwords.password_problem("onlyletterslong") == "password_too_simple"
    assert passwords.password_problem("letters and 1 digit") is None


async def test_session_idle_expiry(redis_client, redis_prefix):
    clock = FakeClock()
    store = SessionStore(redis_client, Keys(redis_prefix), clock=clock)
    session = await store.create(operator_id=7, tenant_id=1)
    clock.advance(minutes=29)
    loaded = await store.load(session.sid)
    assert loaded is not None and loaded.operator_id == 7 and loaded.csrf == session.csrf
    clock.advance(minutes=29)  # active 29 minutes ago: still alive (the load touched it)
    assert await store.load(session.sid) is not None
    clock.advance(minutes=30, seconds=1)
    assert await store.load(session.sid) is None
    clock.now = session.created_at  # gone for good, even if the clock came back
    assert await store.load(session.sid) is None


async def test_session_absolute_expiry_even_when_active(redis_client, redis_prefix):
    clock = FakeClock()
    store = SessionStore(redis_client, Keys(redis_prefix), clock=clock)
    session = await store.create(operator_id=7, tenant_id=1)
    for _ in range(12 * 3 - 1):  # busy every 20 minutes for almost 12 hours
        clock.advance(minutes=20)
        assert await store.load(session.sid) is not None
    clock.advance(minutes=20)
    assert await store.load(session.sid) is None


async def test_rotation_kills_the_old_id_and_issues_a_new_csrf(redis_client, redis_prefix):
    store = SessionStore(redis_client, Keys(redis_prefix), clock=FakeClock())
    anonymous = await store.create()
    assert not anonymous.signed_in
    signed = await store.rotate(anonymous, operator_id=3, tenant_id=1)
    assert signed.sid != anonymous.sid and signed.csrf != anonymous.csrf
    assert await store.load(anonymous.sid) is None
    assert (await store.load(signed.sid)).operator_id == 3
    assert await store.load("forged-" + signed.sid) is None
    # Redis holds a hash of the id, not the id itself
    assert not [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*{signed.sid}*")]


async def test_address_throttle_locks_after_five_failures_in_fifteen_minutes(redis_client, redis_prefix):
    clock = FakeClock()
    throttle = AddressThrottle(redis_client, Keys(redis_prefix), clock=clock)
    for _ in range(4):
        assert not await throttle.failure("10.0.0.1")
        clock.advance(minutes=4)
    # the first failure is now 16 minutes old: it no longer counts
    assert not await throttle.failure("10.0.0.1")
    assert not await throttle.locked("10.0.0.1")
    assert await throttle.failure("10.0.0.1")
    assert await throttle.locked("10.0.0.1")
    assert not await throttle.locked("10.0.0.2")  # other addresses are not affected
    clock.advance(minutes=14)
    assert await throttle.locked("10.0.0.1")
    clock.advance(minutes=1, seconds=1)
    assert not await throttle.locked("10.0.0.1")
