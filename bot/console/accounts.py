"""Operator accounts: create, list, disable, reset, edit with a version check.

Callers pass their transaction; nothing here decides who may do what (that is ``policy.can``
and the pages' checks). Rows cross out of this module as ``OperatorView``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.models import Operator
from bot.console.passwords import hash_password
from bot.console.policy import ROLE_SCOPES
from bot.db import utcnow


class AccountError(Exception):
    """Refused; ``code`` names the Chinese message (templates/console/messages.j2)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class OperatorView:
    id: int
    tenant_id: int
    username: str
    display_name: str
    role: str
    scope_kind: str
    scope_core_id: int | None
    disabled: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    wechat_bound: bool
    version: int
    created_at: datetime

    @classmethod
    def of(cls, row: Operator) -> OperatorView:
        return cls(
            row.id,
            row.tenant_id,
            row.username,
            row.display_name,
            row.role,
            row.scope_kind,
            row.scope_core_id,
            row.disabled,
            row.locked_until,
            row.last_login_at,
            row.wechat_openid is not None,
            row.version,
            row.created_at,
        )


def clean_username(username: str) -> str:
    name = username.strip().lower()
    if not (2 <= len(name) <= 64) or not all(c.isalnum() or c in "._-@" for c in name):
        raise AccountError("bad_username")
    return name


async def create(
    session: AsyncSession,
    tenant_id: int,
    *,
    username: str,
    password: str,
    role: str,
    scope_kind: str = "tenant",
    scope_core_id: int | None = None,
    display_name: str = "",
    now: datetime | None = None,
) -> OperatorView:
    if role not in ROLE_SCOPES:
        raise AccountError("bad_role")
    if scope_kind not in ROLE_SCOPES[role] or (scope_kind == "tenant") != (scope_core_id is None):
        raise AccountError("bad_scope")
    now = now or utcnow()
    row = Operator(
        tenant_id=tenant_id,
        username=clean_username(username),
        display_name=display_name.strip()[:64],
        password_hash=hash_password(password),
        role=role,
        scope_kind=scope_kind,
        scope_core_id=scope_core_id,
        disabled=False,
        failed_logins=0,
        version=1,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise AccountError("username_taken") from None
    return OperatorView.of(row)


async def by_username(session: AsyncSession, tenant_id: int, username: str) -> Operator | None:
    stmt = select(Operator).where(
        Operator.tenant_id == tenant_id, Operator.username == username.strip().lower()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def bound_openid(session: AsyncSession, tenant_id: int, operator_id: int) -> str | None:
    stmt = select(Operator.wechat_openid).where(Operator.tenant_id == tenant_id, Operator.id == operator_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get(session: AsyncSession, tenant_id: int, operator_id: int) -> OperatorView | None:
    stmt = select(Operator).where(Operator.tenant_id == tenant_id, Operator.id == operator_id)
    row = (await session.execute(stmt)).scalar_one_or_none()
    return None if row is None else OperatorView.of(row)


async def list_operators(
    session: AsyncSession, tenant_id: int, *, after_id: int = 0, limit: int = 100
) -> list[OperatorView]:
    stmt = (
        select(Operator)
        .where(Operator.tenant_id == tenant_id, Operator.id > after_id)
        .order_by(Operator.id)
        .limit(limit)
    )
    return [OperatorView.of(r) for r in (await session.execute(stmt)).scalars()]


async def change(
    session: AsyncSession,
    tenant_id: int,
    operator_id: int,
    version: int,
    *,
    now: datetime | None = None,
    **values: object,
) -> OperatorView:
    """Update the given columns if the row is still at ``version`` (else ``stale``)."""
    allowed = {
        "role",
        "scope_kind",
        "scope_core_id",
        "display_name",
        "disabled",
        "password_hash",
        "wechat_openid",
    }
    if not set(values) <= allowed:
        raise ValueError(f"not changeable: {set(values) - allowed}")
    if "password_hash" in values:
        values["locked_until"] = None
        values["failed_logins"] = 0
        values["failed_window_start"] = None
    result = await session.execute(
        update(Operator)
        .where(Operator.tenant_id == tenant_id, Operator.id == operator_id, Operator.version == version)
        .values(**values, version=Operator.version + 1, updated_at=now or utcnow())
        .returning(Operator.id)
        .execution_options(synchronize_session=False)
    )
    if result.scalar_one_or_none() is None:
        if await get(session, tenant_id, operator_id) is None:
            raise AccountError("not_found")
        raise AccountError("stale")
    found = (
        await session.execute(
            select(Operator).where(Operator.id == operator_id).execution_options(populate_existing=True)
        )
    ).scalar_one()
    return OperatorView.of(found)


async def set_password(
    session: AsyncSession, tenant_id: int, operator_id: int, password: str, *, now: datetime | None = None
) -> OperatorView:
    current = await get(session, tenant_id, operator_id)
    if current is None:
        raise AccountError("not_found")
    return await change(
        session, tenant_id, operator_id, current.version, now=now, password_hash=hash_password(password)
    )


async def rehash(session: AsyncSession, operator_id: int, password: str) -> None:
    """Store a fresh hash after a sign-in with an outdated one (no version bump: not an edit)."""
    await session.execute(
        update(Operator)
        .where(Operator.id == operator_id)
        .values(password_hash=hash_password(password))
        .execution_options(synchronize_session=False)
    )


async def ensure(
    session: AsyncSession, tenant_id: int, *, username: str, password: str, role: str, display_name: str = ""
) -> OperatorView:
    """The operator ``username`` of the tenant, created with these values if missing (the demo's
    HQ admin; an existing account keeps its password)."""
    found = await by_username(session, tenant_id, clean_username(username))
    if found is not None:
        return OperatorView.of(found)
    try:
        return await create(
            session, tenant_id, username=username, password=password, role=role, display_name=display_name
        )
    except AccountError as exc:
        if exc.code != "username_taken":
            raise
        return OperatorView.of(await by_username(session, tenant_id, clean_username(username)))  # type: ignore[arg-type]
