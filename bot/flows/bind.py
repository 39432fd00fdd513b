"""Binding flow: a store owner scans the store's binding QR (scene ``bind:<token>``) and proves
ownership with a code sent to the phone the core holds for the store; staff scan an invitation.

States (diagram: bind.mmd), routed by the handlers' filters:
  Bind:code  a code was sent to 138****0001; the digits bind (``verify``), "重发" sends a new
             code (``resend``), anything else gets a hint

Staff invitations need no state: the first member to scan one becomes staff at once.
"""

from __future__ import annotations

import re
from typing import Any

import structlog

from backend_client import BackendUnavailable, NotFound
from bot.db import session_scope
from bot.flows.kit import Kit, Turn
from bot.messages import Reply
from bot.ordering import binding
from bot.ordering import repository as repo
from bot.ordering.binding import OWNER_TOKEN, CoreStore
from bot.ordering.errors import ChatErrorCode, ChatOrderingError
from bot.sms.errors import SmsError

log = structlog.get_logger(__name__)

CODE = "Bind:code"
RESEND = frozenset({"重发", "重新发送", "没收到", "再发一次", "重发验证码"})
_DIGITS = re.compile(r"^\d{4,8}$")
STAFF_LIST, STAFF_LIST_TTL = "ordering:staff-list", 600  # the list "移除店员 2" numbers refer to


def mask_phone(phone: str) -> str:
    """138****0001: enough for the owner to recognise his number, not enough to read it."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def _subject(turn: Turn) -> str:
    return f"{turn.appid}:{turn.openid}"


async def scanned(kit: Kit, turn: Turn, token: str) -> Reply:
    """The ``bind:`` scene: an owner binding code or a staff invitation."""
    joined = None
    try:
        async with session_scope(kit.sessions) as session:
            info = await binding.read_token(session, token)
            if info.tenant_id != turn.tenant_id:
                raise ChatOrderingError(ChatErrorCode.TOKEN_INVALID, "unknown")
            if info.kind != OWNER_TOKEN:
                joined = await binding.join_staff(session, turn.tenant_id, turn.member_id, info)
    except ChatOrderingError as exc:
        return kit.say("bind_invalid", reason=exc.reason)
    if joined is not None:
        await kit.runtime.bindings.forget(turn.member_id)
        log.info("staff_joined", store=joined.code, member=turn.member_id)
        return kit.say("bind_staff_joined", store=joined)
    try:
        store = await _core_store(kit, turn, info.core_store_id)
    except BackendUnavailable:
        return kit.say("order_busy", stage="bind")
    if store is None:
        return kit.say("bind_invalid", reason="unknown")
    current = turn.binding.store
    if turn.binding.is_owner and current is not None and current.core_store_id == store.core_store_id:
        return kit.say("bind_already", store=current)
    return await _send_code(kit, turn, token, store)


async def _core_store(kit: Kit, turn: Turn, core_store_id: int) -> CoreStore | None:
    try:
        found = await (await kit.runtime.core(turn.tenant_id)).org.store(core_store_id)
    except NotFound:
        return None
    return CoreStore(found.id, found.code, found.name, found.owner_phone or "")


async def _send_code(kit: Kit, turn: Turn, token: str, store: CoreStore) -> Reply:
    if not store.owner_phone:
        return kit.say("bind_invalid", reason="no_phone")
    payload = {"token": token, "store": store.core_store_id, "code": store.code, "name": store.name}
    try:
        code = await kit.runtime.codes.issue(_subject(turn), store.owner_phone, payload)
    except ChatOrderingError as exc:  # SMS_TOO_SOON
        await kit.go(turn, CODE, {"name": store.name, "phone": mask_phone(store.owner_phone)})
        return kit.say("bind_sms_wait", seconds=exc.reason)
    try:
        await kit.runtime.sms.send(
            store.owner_phone,
            kit.render("bind_sms", code=code, store=store.name),
            purpose="bind",
            params={"code": code},
        )
    except SmsError as exc:  # nothing reached the phone: the code is withdrawn, "重发" may retry
        await kit.runtime.codes.withdraw(_subject(turn))
        log.warning("bind_sms_failed", failure=exc.failure.value, provider_code=exc.provider_code)
        return kit.say("bind_sms_failed", failure=exc.failure.value, seconds=exc.retry_after)
    await kit.go(turn, CODE, {"name": store.name, "phone": mask_phone(store.owner_phone)})
    current = turn.binding.store if turn.binding.bound else None
    return kit.say("bind_code_sent", store=store.name, phone=mask_phone(store.owner_phone), current=current)


async def resend(kit: Kit, turn: Turn) -> Reply:
    """ "重发" in Bind:code: a new code to the same phone (or the flow ends if the code expired)."""
    pending = await kit.runtime.codes.pending(_subject(turn))
    if pending is None:
        await kit.leave(turn)
        return kit.say("bind_invalid", reason="code_expired")
    payload = pending.payload
    store = CoreStore(payload["store"], payload["code"], payload["name"], pending.phone)
    return await _send_code(kit, turn, payload["token"], store)


def is_code(text: str) -> bool:
    return bool(_DIGITS.match(text.strip()))


async def hint(kit: Kit, turn: Turn, record: Any) -> Reply:
    """Anything else in Bind:code: what is expected."""
    return kit.say("order_hint", state=CODE, data=record.data)


async def verify(kit: Kit, turn: Turn) -> Reply:
    """The digits in Bind:code: a right code binds the member as the store's owner."""
    subject = _subject(turn)
    try:
        challenge = await kit.runtime.codes.verify(subject, turn.text.strip())
    except ChatOrderingError as exc:
        if exc.code == ChatErrorCode.CODE_WRONG:
            return kit.say("bind_code_wrong", left=exc.data.get("left"))
        await kit.leave(turn)
        return kit.say(
            "bind_invalid", reason="code_locked" if exc.code == ChatErrorCode.CODE_LOCKED else "code_expired"
        )
    payload = challenge.payload
    store = CoreStore(payload["store"], payload["code"], payload["name"], challenge.phone)
    try:
        async with session_scope(kit.sessions) as session:
            await binding.read_token(session, payload["token"])  # revoked meanwhile?
            bound = await binding.bind_owner(session, turn.tenant_id, turn.member_id, store)
    except ChatOrderingError as exc:
        await kit.leave(turn)
        return kit.say("bind_invalid", reason=exc.reason)
    await kit.leave(turn)
    await kit.runtime.bindings.forget(turn.member_id, bound.previous_owner)
    log.info("store_bound", store=store.code, member=turn.member_id, replaced=bound.previous_owner)
    return kit.say("bind_done", store=bound.store, moved=bound.moved_from is not None)


# staff --------------------------------------------------------------------------------------------
async def invite_staff(kit: Kit, turn: Turn) -> Reply:
    if not turn.binding.is_owner or turn.binding.store is None:
        return kit.say("bind_owner_only")
    if kit.make_qr is None:
        return kit.say("order_busy", stage="qr")
    days = kit.runtime.staff_invite_days
    async with session_scope(kit.sessions) as session:
        token = await binding.create_token(
            session,
            turn.tenant_id,
            binding.STAFF_TOKEN,
            turn.binding.store.core_store_id,
            created_by=f"member:{turn.member_id}",
            ttl_seconds=days * 86400,
        )
    url = await kit.make_qr(turn.appid, binding.SCENE_PREFIX + token, days * 86400)
    return kit.say("bind_staff_invite", url=url, days=days, store=turn.binding.store)


async def list_staff(kit: Kit, turn: Turn) -> Reply:
    store = turn.binding.store
    if not turn.binding.is_owner or store is None:
        return kit.say("bind_owner_only")
    async with session_scope(kit.sessions) as session:
        staff = [
            m
            for m, role in await repo.store_members(session, turn.tenant_id, store.store_id)
            if role == "store_staff"
        ]
    await kit.remember(turn, STAFF_LIST, ",".join(map(str, staff)), ttl=STAFF_LIST_TTL)
    return kit.say("bind_staff_list", staff=staff, store=store)


async def remove_staff(kit: Kit, turn: Turn, number: int) -> Reply:
    store = turn.binding.store
    if not turn.binding.is_owner or store is None:
        return kit.say("bind_owner_only")
    raw = await kit.recall(turn, STAFF_LIST)
    listed = [int(x) for x in raw.split(",") if x] if raw else []
    if not 1 <= number <= len(listed):
        return kit.say("bind_staff_removed", ok=False)
    async with session_scope(kit.sessions) as session:
        ok = await binding.remove_staff(session, turn.tenant_id, store.store_id, listed[number - 1])
    await kit.runtime.bindings.forget(listed[number - 1])
    return kit.say("bind_staff_removed", ok=ok, number=number)
