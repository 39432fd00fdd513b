"""Login and session endpoints of the mini-program API (documented in ``openapi.yaml``).

* ``POST /mp/api/login``: a ``wx.login`` code -> jscode2session -> the member (linked by unionid
  when WeChat gives one) -> jiubot's own signed session token. WeChat's session_key stays in Redis.
* ``POST /mp/api/phone``: a ``getPhoneNumber`` code -> getuserphonenumber -> the member's
  verified phone (two members holding the same person are merged by membership).
* ``GET /mp/api/me``: who the session token says the caller is.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from aiohttp import web

from bot.db import session_scope
from bot.membership import actions as members
from bot.membership.errors import MembershipError
from bot.miniapp.api import api, signer_of
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.schemas import LoginBody, PhoneBody
from bot.miniapp.session import MpSession
from bot.observability import hash_openid, mask_phone
from bot.redis import as_text
from bot.services import Services
from bot.tenancy.registry import AppConfig
from bot.wechat import errors as wx
from bot.wechat.outbound import WeChatClient

log = structlog.get_logger(__name__)

routes = web.RouteTableDef()

# wx.request sends this Referer: https://servicewechat.com/{appid}/{version}/page-frame.html
_REFERER = re.compile(r"^https://servicewechat\.com/(wx[0-9a-zA-Z]{16})/")


def session_key_name(services: Services, appid: str, openid: str) -> str:
    return services.keys("mp", "session-key", appid, openid)


async def session_key(services: Services, session: MpSession) -> str | None:
    """WeChat's session_key for this session (server-side only), None once it expired."""
    raw = await services.redis.get(session_key_name(services, session.appid, session.openid))
    return as_text(raw) if raw else None


# helpers --------------------------------------------------------------------------------------------
async def _mini_program(services: Services, request: web.Request, appid: str | None) -> AppConfig:
    """The mini-program: ``appid`` in the body, else WeChat's Referer, else the only one configured."""
    match = _REFERER.match(request.headers.get("Referer", ""))
    appid = appid or (match.group(1) if match else None)
    if appid:
        app = await services.registry.get(appid)
        if app is None or app.kind != "mp":
            raise MpError(ErrorCode.UNKNOWN_APP, appid)
        return app
    apps = [a for a in services.registry.all() if a.kind == "mp"]
    if len(apps) != 1:
        raise MpError(ErrorCode.UNKNOWN_APP, "no appid given and not exactly one mini-program configured")
    return apps[0]


def _client(services: Services) -> WeChatClient:
    client = services.wechat
    if client is None:
        raise MpError(ErrorCode.NOT_CONFIGURED, "the WeChat outbound extension is not wired")
    return client


def _wechat_failure(exc: wx.WeChatError, bad_code: ErrorCode) -> MpError:
    if isinstance(exc, wx.InvalidCode | wx.BadRequest | wx.UserRefused):
        return MpError(bad_code, f"errcode {exc.errcode}")
    if isinstance(exc, wx.ConfigError):
        return MpError(ErrorCode.WECHAT_CONFIG, f"errcode {exc.errcode}")
    return MpError(ErrorCode.WECHAT_BUSY, f"errcode {exc.errcode}")


# endpoints ------------------------------------------------------------------------------------------
@routes.post("/mp/api/login")
@api(auth=False, body=LoginBody)
async def login(request: web.Request, services: Services, *, body: LoginBody) -> dict[str, Any]:
    app = await _mini_program(services, request, body.appid)
    try:
        answer = await _client(services).wxa.jscode2session(app.appid, body.code)
    except wx.WeChatError as exc:
        raise _wechat_failure(exc, ErrorCode.INVALID_CODE) from None
    async with session_scope(services.sessions) as db:
        if answer.unionid:
            member_id = await members.link_unionid(
                db, app.tenant_id, app.appid, answer.openid, answer.unionid
            )
        else:
            member_id = await members.ensure_member(db, app.tenant_id, app.appid, answer.openid)
    signer = signer_of(services)
    await services.redis.set(
        session_key_name(services, app.appid, answer.openid), answer.session_key, ex=signer.ttl
    )
    mp_session = MpSession(member_id, app.tenant_id, app.appid, answer.openid, answer.unionid)
    issued = signer.issue(mp_session)
    log.info("mp_login", appid=app.appid, user=hash_openid(answer.openid), member_id=member_id)
    return {"token": issued.token, "expires_at": issued.expires_at, "member_id": member_id}


@routes.post("/mp/api/phone")
@api(body=PhoneBody)
async def bind_phone(
    request: web.Request, services: Services, *, session: MpSession, body: PhoneBody
) -> dict[str, Any]:
    current = session
    try:
        info = await _client(services).wxa.phone_number(current.appid, body.code, openid=current.openid)
    except wx.WeChatError as exc:
        raise _wechat_failure(exc, ErrorCode.PHONE_CODE_INVALID) from None
    if info.watermark_appid and info.watermark_appid != current.appid:
        raise MpError(ErrorCode.PHONE_CODE_INVALID, "watermark of another app")
    phone = info.pure_phone_number or info.phone_number
    if info.country_code not in ("", "86"):
        phone = f"+{info.country_code}{phone}"
    try:
        async with session_scope(services.sessions) as db:
            member_id = await members.link_phone(db, current.tenant_id, current.member_id, phone)
    except (MembershipError, ValueError) as exc:
        raise MpError(ErrorCode.PHONE_REFUSED, str(exc)) from None
    answer: dict[str, Any] = {"member_id": member_id, "phone": mask_phone(phone)}
    if member_id != current.member_id:
        # The phone belonged to an existing member (e.g. from the Official Account): now one person.
        merged = MpSession(member_id, current.tenant_id, current.appid, current.openid, current.unionid)
        issued = signer_of(services).issue(merged)
        answer.update(token=issued.token, expires_at=issued.expires_at)
    log.info("mp_phone_bound", appid=current.appid, user=hash_openid(current.openid), member_id=member_id)
    return answer


@routes.get("/mp/api/me")
@api()
async def me(request: web.Request, services: Services, *, session: MpSession) -> dict[str, Any]:
    return {
        "member_id": session.member_id,
        "appid": session.appid,
        "has_unionid": session.unionid is not None,
    }
