"""Web OAuth (section 10.1) and the JS-SDK ticket (10.2).

The authorize page is what WeChat shows inside its browser: it approves at once for the simulated
person currently "inside WeChat" (the ``wxsim_person`` cookie set by the console's web view, or a
``sim_person`` query parameter), and otherwise lets you pick a person.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from wechat_sim.api.base import Call, wx_api
from wechat_sim.errors import WxError
from wechat_sim.keys import SIM_JINJA, SIM_STATE
from wechat_sim.model import SnsToken

routes = web.RouteTableDef()
PERSON_COOKIE = "wxsim_person"


def _page(request: web.Request, status: int = 200, **values: Any) -> web.Response:
    html = request.app[SIM_JINJA].get_template("oauth.html.j2").render(**values)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _with_query(url: str, **params: str) -> str:
    base, _, fragment = url.partition("#")
    joined = base + ("&" if "?" in base else "?") + urlencode(params)
    return joined + ("#" + fragment if fragment else "")


@routes.get("/connect/oauth2/authorize", name="wx_oauth_authorize")
async def authorize(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM_STATE]
    q = request.query
    app = sim.store.apps.get(q.get("appid", ""))
    if app is None:
        return _page(request, 400, error="10016", message="appid 不存在或不正确")
    redirect_uri = q.get("redirect_uri", "")
    target = urlsplit(redirect_uri)
    if target.scheme not in ("http", "https") or not target.hostname:
        return _page(request, 400, error="10003", message="redirect_uri 参数错误")
    if (
        app.oauth_domains
        and target.hostname not in app.oauth_domains
        and target.netloc not in app.oauth_domains
    ):
        return _page(request, 400, error="10003", message="redirect_uri 域名与后台配置不一致")
    scope = q.get("scope", "")
    if scope not in ("snsapi_base", "snsapi_userinfo") or q.get("response_type") != "code":
        return _page(request, 400, error="10005", message="此公众号并没有这些scope的权限")
    person_id = q.get("sim_person") or request.cookies.get(PERSON_COOKIE, "")
    if person_id not in sim.store.persons:
        base_query = {k: v for k, v in q.items() if k != "sim_person"}
        choices = [(p, "?" + urlencode({**base_query, "sim_person": p.id})) for p in sim.persons()]
        return _page(request, app=app, scope=scope, choices=choices)
    code = sim.issue_code("oauth", person_id, app.appid, scope=scope)
    raise web.HTTPFound(_with_query(redirect_uri, code=code, state=q.get("state", "")))


@routes.get("/sns/oauth2/access_token")
@wx_api("sns/oauth2/access_token")
async def oauth_access_token(call: Call) -> dict[str, Any]:
    q = call.query
    if q.get("grant_type") != "authorization_code":
        raise WxError(40002)
    app = call.app_by_secret(q.get("appid"), q.get("secret"))
    if not q.get("code"):
        raise WxError(41008)
    code = call.sim.redeem_code(q.get("code"), "oauth", app.appid, used=40163, expired=42003)
    return _issue(call, app.appid, code.person_id, code.scope, refresh_token=secrets.token_urlsafe(64))


def _issue(call: Call, appid: str, person_id: str, scope: str, *, refresh_token: str) -> dict[str, Any]:
    sim = call.sim
    token = secrets.token_urlsafe(64)
    now = sim.now()
    previous = next((t for t in sim.store.sns_tokens.values() if t.refresh_token == refresh_token), None)
    refresh_expires = previous.refresh_expires_at if previous else now + sim.limits.sns_refresh_ttl
    sim.store.sns_tokens[token] = SnsToken(
        appid, person_id, scope, now + 7200, refresh_token, refresh_expires
    )
    for old, record in list(sim.store.sns_tokens.items()):
        if record.refresh_expires_at < now:
            del sim.store.sns_tokens[old]
    sim.touch()
    answer: dict[str, Any] = {
        "access_token": token,
        "expires_in": 7200,
        "refresh_token": refresh_token,
        "openid": sim.openid(person_id, appid),
        "scope": scope,
    }
    app = sim.app(appid)
    if scope == "snsapi_userinfo" and app.group:
        answer["unionid"] = sim.unionid(person_id, app.group)
    return answer


@routes.get("/sns/oauth2/refresh_token")
@wx_api("sns/oauth2/refresh_token")
async def oauth_refresh(call: Call) -> dict[str, Any]:
    q = call.query
    if q.get("grant_type") != "refresh_token":
        raise WxError(40002)
    refresh = q.get("refresh_token", "")
    record = next(
        (t for t in call.sim.store.sns_tokens.values() if refresh and t.refresh_token == refresh), None
    )
    if record is None or record.appid != q.get("appid"):
        raise WxError(40030)
    call.appid = record.appid
    if call.sim.now() >= record.refresh_expires_at:
        raise WxError(42002)
    return _issue(call, record.appid, record.person_id, record.scope, refresh_token=refresh)


def _sns(call: Call) -> SnsToken:
    record = call.sim.store.sns_tokens.get(call.query.get("access_token", ""))
    if record is None:
        raise WxError(40001)
    call.appid = record.appid
    if call.sim.now() >= record.expires_at:
        raise WxError(42001)
    if call.query.get("openid") != call.sim.openid(record.person_id, record.appid):
        raise WxError(40003)
    return record


@routes.get("/sns/userinfo")
@wx_api("sns/userinfo")
async def userinfo(call: Call) -> dict[str, Any]:
    record = _sns(call)
    if record.scope != "snsapi_userinfo":
        raise WxError(48001)
    person = call.sim.person(record.person_id)
    app = call.sim.app(record.appid)
    answer: dict[str, Any] = {
        "openid": call.sim.openid(person.id, app.appid),
        "nickname": person.nickname,
        "sex": 0,
        "province": "",
        "city": "",
        "country": "",
        "headimgurl": "",
        "privilege": [],
    }
    if app.group:
        answer["unionid"] = call.sim.unionid(person.id, app.group)
    return answer


@routes.get("/sns/auth")
@wx_api("sns/auth")
async def sns_auth(call: Call) -> None:
    _sns(call)


@routes.get("/cgi-bin/ticket/getticket")
@wx_api("cgi-bin/ticket/getticket")
async def getticket(call: Call) -> dict[str, Any]:
    """The same ticket until it expires (7200 s), like the access token it depends on."""
    app = call.app()
    if call.query.get("type", "jsapi") not in ("jsapi", "wx_card"):
        raise WxError(40097, "type")
    rt = call.sim.runtime(app.appid)
    now = call.sim.now()
    if not rt.jsapi_ticket or now >= rt.jsapi_expires_at:
        rt.jsapi_ticket = secrets.token_urlsafe(64)
        rt.jsapi_expires_at = now + 7200
        call.sim.touch()
    return {
        "errcode": 0,
        "errmsg": "ok",
        "ticket": rt.jsapi_ticket,
        "expires_in": int(rt.jsapi_expires_at - now),
    }
