"""Access tokens and quota APIs (WECHAT_PROTOCOL.md section 4)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wechat_sim.api.base import Call, wx_api
from wechat_sim.clock import beijing_day
from wechat_sim.errors import WxError

routes = web.RouteTableDef()


@routes.get("/cgi-bin/token")
@wx_api("cgi-bin/token")
async def token(call: Call) -> dict[str, Any]:
    q = call.query
    if q.get("grant_type") != "client_credential":
        raise WxError(40002)
    app = call.app_by_secret(q.get("appid"), q.get("secret"))
    call.check_ip(app)
    try:
        call.count(app.appid)
    except WxError:
        raise WxError(45009, "could get access_token by getStableAccessToken") from None
    access_token, expires_in = call.sim.tokens.issue(app.appid)
    call.sim.touch()
    return {"access_token": access_token, "expires_in": expires_in}


@routes.route("*", "/cgi-bin/stable_token")
@wx_api("cgi-bin/stable_token")
async def stable_token(call: Call) -> dict[str, Any]:
    if call.request.method != "POST":
        raise WxError(43002)
    body = await call.json()
    if body.get("grant_type") != "client_credential":
        raise WxError(40002)
    app = call.app_by_secret(body.get("appid"), body.get("secret"))
    call.check_ip(app)
    call.count(app.appid)
    force = body.get("force_refresh") in (True, "true", 1)
    access_token, expires_in = call.sim.tokens.stable(app.appid, force)
    call.sim.touch()
    return {"access_token": access_token, "expires_in": expires_in}


@routes.post("/cgi-bin/clear_quota")
@wx_api("cgi-bin/clear_quota")
async def clear_quota(call: Call) -> None:
    app = call.app()
    body = await call.json()
    if body.get("appid") != app.appid:
        raise WxError(40013)
    rt = call.sim.runtime(app.appid)
    month = beijing_day(call.sim.now()) // 30  # close enough to a calendar month for a limit of 10
    rt.quota_clears = [t for t in rt.quota_clears if beijing_day(t) // 30 == month]
    if len(rt.quota_clears) >= call.sim.limits.quota_clears_per_month:
        raise WxError(48006)
    rt.quota_clears.append(call.sim.now())
    rt.quota_used = {}
    call.sim.touch()


@routes.post("/cgi-bin/openapi/quota/get")
@wx_api("cgi-bin/openapi/quota/get")
async def quota_get(call: Call) -> dict[str, Any]:
    app = call.app()
    body = await call.json()
    api = str(body.get("cgi_path", "")).lstrip("/")
    limit = call.sim.limits.daily_quotas.get(api)
    if limit is None:
        raise WxError(76021, "cgi_path not found")
    rt = call.sim.runtime(app.appid)
    used = rt.quota_used.get(api, 0) if rt.quota_day == beijing_day(call.sim.now()) else 0
    return {
        "errcode": 0,
        "errmsg": "ok",
        "quota": {"daily_limit": limit, "used": used, "remain": limit - used},
    }


@routes.get("/cgi-bin/getcallbackip")
@wx_api("cgi-bin/getcallbackip")
async def callback_ip(call: Call) -> dict[str, Any]:
    call.app()
    return {"ip_list": ["127.0.0.1"]}


@routes.get("/cgi-bin/get_api_domain_ip")
@wx_api("cgi-bin/get_api_domain_ip")
async def api_domain_ip(call: Call) -> dict[str, Any]:
    call.app()
    return {"ip_list": ["127.0.0.1"]}
