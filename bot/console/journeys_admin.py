"""Editing journeys in the console: a new version from the edited YAML, enable / pause.

Journeys are the brand's (tenant-wide, resource path ``/``): HQ edits them (``manage
journeys``) and enables or pauses them (``write journeys``); region managers and operators read
them (lineage) and cannot change them — a journey of a region's own would need a region on the
definition, which the engine does not have. Every change is audited. A save never overwrites: it
is version N+1 on top of the version the form was opened on, and a form opened on an older
version is refused as stale (another operator saved in between)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation import definitions
from bot.automation import repository as journeys_repo
from bot.automation.errors import InvalidDefinition
from bot.console import audit, form_tokens

MAX_YAML = 20_000  # characters of a definition


class EditRefused(Exception):
    """``code``: a key of templates/console/journey_errors.j2; ``step``: the step's id."""

    def __init__(self, code: str, step: str = "", status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.step = step
        self.status = status


def check(text: str, name: str | None) -> definitions.Journey:
    """The definition the form sent, for the journey ``name`` (None: a new one)."""
    if len(text) > MAX_YAML:
        raise EditRefused("too_long")
    try:
        journey = definitions.parse(text)
    except InvalidDefinition as exc:
        raise EditRefused(exc.code, exc.step) from None
    if name is not None and journey.name != name:
        raise EditRefused("rename")
    if name is None and (journey.name == "new" or "/" in journey.name):
        raise EditRefused("name_reserved")
    return journey


async def save(
    session: AsyncSession,
    who: audit.Who,
    journey: definitions.Journey,
    *,
    base: str,
    form_token: str,
    origin: audit.Origin,
    now: datetime,
) -> int | None:
    """The new version's number; None when this form was saved already or nothing changed."""
    if not base.isdigit():
        raise EditRefused("form_expired")
    try:
        token = form_tokens.check(form_token)
    except form_tokens.TokenMissing:
        raise EditRefused("form_expired") from None
    if not await form_tokens.claim(
        session, who.tenant_id, token, "journey.save", operator_id=who.operator_id, now=now
    ):
        return None
    try:
        version = await journeys_repo.save_version(session, who.tenant_id, journey, base=int(base))
    except journeys_repo.StaleVersion:
        raise EditRefused("exists" if base == "0" else "stale", status=409) from None
    if version is not None:
        await audit.record(
            session,
            who,
            "journey.save",
            target_kind="journey",
            target_id=journey.name,
            before={"version": int(base)},
            after={"version": version},
            origin=origin,
            now=now,
        )
    return version


async def set_state(
    session: AsyncSession, who: audit.Who, name: str, active: bool, *, origin: audit.Origin, now: datetime
) -> bool:
    """Enable or pause every version of ``name``; False when there is no such journey."""
    if not await journeys_repo.set_active(session, who.tenant_id, name, active):
        return False
    await audit.record(
        session,
        who,
        "journey.enable" if active else "journey.pause",
        target_kind="journey",
        target_id=name,
        origin=origin,
        now=now,
    )
    return True
