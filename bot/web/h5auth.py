"""Who is on an H5 page: a signed cookie set after WeChat's silent snsapi_base OAuth.

Flow (WECHAT_PROTOCOL.md 10.1): a page that needs the member and has no cookie stores where the
person was going under a random ``state`` in Redis (10 minutes) and redirects to the authorize
URL (a setting, so it can be the simulator). WeChat returns to ``/h5/oauth?code&state``; the code
is exchanged for the openid once, the member is found or created, the cookie is set and the
person lands where he was going. The cookie holds only tenant, member, expiry and an HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp
import structlog
from aiohttp import web

from bot import keys
from bot.db import session_scope
from bot.membership import actions as members
from bot.membership.runtime import MembershipRuntime
from bot.services import Services
from bot.tenancy.registry import AppConfig

log = structlog.get_logger(__name__)

COOKIE = "jb_member"
STATE_TTL = 600


@dataclass(frozen=True, slots=True)
class H5Member:
    tenant_id: int
    member_id: int


def services_of(request: web.Request) -> Services:
    return request.app[keys.SERVICES]


def runtime_of(request: web.Request) -> MembershipRuntime:
    runtime = services_of(request).membership
    if runtime is None:  # these routes are added only with the membership feature
        raise web.HTTPServiceUnavailable(text="membership is not configured")
    return runtime


def in_wechat(request: web.Request) -> bool:
    """Whether the page was opened in WeChat's browser, by its user agent (which anyone can
    send), or the demo's simulated one (a cookie that only ``jiubot demo`` configures; see
    ``Settings.wechat_browser_cookie``). It only chooses a page ("scan this with WeChat" vs. the
    real one): nothing that matters for security depends on it; identity comes from WeChat's
    OAuth (the signed member cookie), limits from the member or the client address
    (bot/clientip.py)."""
    if "micromessenger" in request.headers.get("User-Agent", "").lower():
        return True
    marker = runtime_of(request).settings.wechat_browser_cookie
    return bool(marker and request.cookies.get(marker))


async def brand_of(request: web.Request, tenant_id: int | None) -> str:
    """The brand (tenant) name a page shows: the tenant's own name, else the configured default."""
    services = services_of(request)
    if tenant_id:
        from bot.tenancy.models import Tenant

        async with session_scope(services.sessions) as session:
            tenant = await session.get(Tenant, tenant_id)
        if tenant is not None and tenant.name:
            return tenant.name
    return services.settings.tenant_name


def _mac(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), f"jiubot/h5/{body}".encode(), hashlib.sha256).hexdigest()[:32]


def issue_cookie(response: web.StreamResponse, services: Services, member: H5Member, days: int) -> None:
    expires = int(time.time()) + days * 86400
    body = f"{member.tenant_id}.{member.member_id}.{expires}"
    secure = services.settings.public_base_url.startswith("https://")
    response.set_cookie(
        COOKIE,
        f"{body}.{_mac(services.settings.secret_key, body)}",
        max_age=days * 86400,
        httponly=True,
        samesite="Lax",
        secure=secure,
        path="/",
    )


def current_member(request: web.Request) -> H5Member | None:
    raw = request.cookies.get(COOKIE, "")
    parts = raw.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        return None
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_mac(services_of(request).settings.secret_key, body), parts[3]):
        return None
    if int(parts[2]) < time.time():
        return None
    return H5Member(int(parts[0]), int(parts[1]))


def official_account(services: Services, tenant_id: int | None = None) -> AppConfig | None:
    for app in services.registry.all():
        if app.kind == "oa" and (tenant_id is None or app.tenant_id == tenant_id):
            return app
    return None


async def login_redirect(request: web.Request, target: str, tenant_id: int | None = None) -> web.HTTPFound:
    """Send the person through snsapi_base OAuth and back to ``target`` (a local path)."""
    services, runtime = services_of(request), runtime_of(request)
    app = official_account(services, tenant_id)
    if app is None:
        raise web.HTTPServiceUnavailable(text="no Official Account configured")
    state = secrets.token_hex(16)  # [a-zA-Z0-9], well under 128 bytes
    await services.redis.set(services.keys("h5", "oauth", state), f"{app.appid} {target}", ex=STATE_TTL)
    query = urlencode(
        {
            "appid": app.appid,
            "redirect_uri": f"{services.settings.public_base_url}/h5/oauth",
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    return web.HTTPFound(f"{runtime.settings.oauth_authorize_url}?{query}#wechat_redirect")


async def _exchange(services: Services, http: aiohttp.ClientSession, app: AppConfig, code: str) -> dict:
    params = {"appid": app.appid, "secret": app.secret, "code": code, "grant_type": "authorization_code"}
    url = f"{services.settings.wechat_api_base}/sns/oauth2/access_token"
    async with http.get(url, params=params, timeout=aiohttp.ClientTimeout(total=5)) as resp:
        answer = await resp.json(content_type=None)
    if not isinstance(answer, dict) or answer.get("errcode") or not answer.get("openid"):
        raise web.HTTPBadRequest(
            text=f"oauth failed: {answer.get('errcode') if isinstance(answer, dict) else '?'}"
        )
    return answer


async def oauth_callback(request: web.Request) -> web.StreamResponse:
    """``/h5/oauth?code&state``: WeChat's redirect back; sets the cookie and redirects on."""
    services, runtime = services_of(request), runtime_of(request)
    state, code = request.query.get("state", ""), request.query.get("code", "")
    if not state.isalnum() or not code:
        raise web.HTTPBadRequest(text="missing code or state")
    raw = await services.redis.getdel(services.keys("h5", "oauth", state))
    if raw is None:
        raise web.HTTPBadRequest(text="this link has expired; scan again")
    appid, target = (raw.decode() if isinstance(raw, bytes) else raw).split(" ", 1)
    app = await services.registry.get(appid)
    if app is None:
        raise web.HTTPBadRequest(text="unknown app")
    answer = await _exchange(services, request.app[keys.WECHAT_HTTP], app, code)
    async with session_scope(services.sessions) as session:
        if answer.get("unionid"):
            member_id = await members.link_unionid(
                session, app.tenant_id, appid, answer["openid"], answer["unionid"]
            )
        else:
            member_id = await members.ensure_member(session, app.tenant_id, appid, answer["openid"])
    response = web.HTTPFound(target if target.startswith("/") else "/")
    issue_cookie(response, services, H5Member(app.tenant_id, member_id), runtime.settings.h5_session_days)
    log.info("h5_login", member_id=member_id)
    raise response


def form_token(services: Services, member: H5Member, purpose: str) -> str:
    return _mac(services.settings.secret_key, f"form.{purpose}.{member.tenant_id}.{member.member_id}")
