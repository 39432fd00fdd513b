"""Binding a store with an SMS code over HTTP (the mini-program or H5 when WeChat's verified
phone is not at hand), documented in ``openapi.yaml``:

* ``POST /mp/api/store/bind/sms`` ``{"phone"}``: a six-digit code to the phone the core holds
  for the store's owner. Sends are limited per phone and per client IP (``bot/sms/limits.py``;
  the IP is the trusted-proxy client address of ``bot/clientip.py``): over a limit, 429
  ``sms_limited`` with Retry-After and nothing sent;
* ``POST /mp/api/store/bind/sms/verify`` ``{"code"}``: the code binds that store.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from aiohttp import web
from pydantic import StringConstraints

from bot.clientip import client_ip
from bot.db import session_scope
from bot.miniapp.api import api
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.ordering import ordering_of
from bot.miniapp.schemas import Body
from bot.miniapp.session import MpSession
from bot.observability import mask_phone
from bot.ordering import binding
from bot.ordering.binding import CoreStore
from bot.ordering.errors import ChatOrderingError
from bot.services import Services
from bot.sms.errors import SmsError, SmsFailure

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
LIMITED = frozenset({SmsFailure.TOO_MANY_FOR_IP, SmsFailure.TOO_MANY_FOR_PHONE})


class SmsBody(Body):
    phone: Annotated[str, StringConstraints(pattern=r"^1[3-9][0-9]{9}$")]


class SmsCodeBody(Body):
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


def _subject(session: MpSession) -> str:
    return f"mp:{session.tenant_id}:{session.member_id}"


@routes.post("/mp/api/store/bind/sms")
@api(body=SmsBody)
async def send_code(request: web.Request, services: Services, *, session: MpSession, body: SmsBody) -> Any:
    runtime = ordering_of(services)
    core = await runtime.core(session.tenant_id)
    stores = await core.org.find_stores_by_phone(body.phone)
    if not stores:
        raise MpError(ErrorCode.PHONE_MISMATCH)
    store = stores[0]
    payload = {"token": "", "store": store.id, "code": store.code, "name": store.name}
    subject = _subject(session)
    try:
        code = await runtime.codes.issue(subject, body.phone, payload)
    except ChatOrderingError as exc:  # SMS_TOO_SOON: the seconds to wait
        raise MpError(ErrorCode.SMS_LIMITED, "too soon", retry_after=int(exc.reason or 60)) from None
    text = services.text("bind_sms", code=code, store=store.name)
    try:
        await runtime.sms.send(
            body.phone, text, purpose="bind", params={"code": code}, client_ip=client_ip(request)
        )
    except SmsError as exc:
        await runtime.codes.withdraw(subject)  # nothing reached the phone
        if exc.failure in LIMITED:
            log.info("mp_sms_limited", phone=mask_phone(body.phone), failure=exc.failure.value)
            raise MpError(
                ErrorCode.SMS_LIMITED,
                exc.failure.value,
                reason=exc.failure.value,
                retry_after=exc.retry_after,
            ) from None
        raise MpError(ErrorCode.SERVICE_BUSY, exc.failure.value, reason="sms") from None
    return {"sent": True, "phone": mask_phone(body.phone), "store": store.name}


@routes.post("/mp/api/store/bind/sms/verify")
@api(body=SmsCodeBody)
async def verify_code(
    request: web.Request, services: Services, *, session: MpSession, body: SmsCodeBody
) -> Any:
    runtime = ordering_of(services)
    try:
        challenge = await runtime.codes.verify(_subject(session), body.code)
    except ChatOrderingError as exc:
        raise MpError(ErrorCode.PHONE_CODE_INVALID, exc.code.value, reason=exc.code.value) from None
    payload = challenge.payload
    store = CoreStore(payload["store"], payload["code"], payload["name"], challenge.phone)
    async with session_scope(services.sessions) as db:
        bound = await binding.bind_owner(db, session.tenant_id, session.member_id, store)
    await runtime.bindings.forget(session.member_id, bound.previous_owner)
    return {"bound": True, "role": "store_owner", "store": bound.store}
