"""Signing in: password check with throttling and lockout (per account and per address).

Every refusal looks the same to the caller except a lock ("locked") and a correct password on a
disabled account ("disabled"): an unknown username costs the same argon2 time as a known one."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.console import accounts, audit, lockout, passwords
from bot.console.accounts import OperatorView
from bot.console.lockout import AddressThrottle
from bot.console.sessions import Clock
from bot.db import session_scope


@dataclass(frozen=True)
class SignInResult:
    """The password was right (``operator``), or the refusal (``error``). The caller records the
    "login" audit entry once the session exists (after the second factor, if any)."""

    operator: OperatorView | None
    error: str | None  # message code: bad_credentials | locked | disabled
    wechat_openid: str | None = None  # bound: the second factor is required


async def sign_in(
    db: async_sessionmaker[AsyncSession],
    throttle: AddressThrottle,
    clock: Clock,
    *,
    tenant_id: int,
    username: str,
    password: str,
    origin: audit.Origin,
) -> SignInResult:
    now = clock()
    address = origin.ip or "unknown"
    if await throttle.locked(address):
        return SignInResult(None, "locked")
    async with session_scope(db) as session:
        row = await accounts.by_username(session, tenant_id, username) if username.strip() else None
        found = None if row is None else OperatorView.of(row)
        stored_hash = "" if row is None else row.password_hash
        openid = None if row is None else row.wechat_openid
    if found is not None and lockout.account_locked(found.locked_until, now):
        return SignInResult(None, "locked")
    if found is None:
        await asyncio.to_thread(passwords.burn_time, password)
        return SignInResult(None, "locked" if await throttle.failure(address) else "bad_credentials")
    ok = await asyncio.to_thread(passwords.verify_password, stored_hash, password)
    who = audit.Who(tenant_id, found.id, found.username, found.scope_kind, found.scope_core_id)
    if not ok:
        address_locked = await throttle.failure(address)
        async with session_scope(db) as session:
            account_locked = await lockout.account_failure(session, found.id, now)
            await audit.record(
                session,
                who,
                "login.locked" if account_locked else "login.failed",
                target_kind="operator",
                target_id=found.id,
                origin=origin,
                now=now,
            )
        return SignInResult(None, "locked" if (account_locked or address_locked) else "bad_credentials")
    if found.disabled:
        return SignInResult(None, "disabled")
    async with session_scope(db) as session:
        await lockout.account_success(session, found.id, now)
        if passwords.needs_rehash(stored_hash):
            await accounts.rehash(session, found.id, password)
    return SignInResult(found, None, openid)
