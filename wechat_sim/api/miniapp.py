"""Mini-program server APIs (section 11): login codes, phone numbers, unlimited mini-program codes."""

from __future__ import annotations

import base64
import os
import re
from typing import Any

from aiohttp import web

from wechat_sim.api.base import Call, wx_api
from wechat_sim.errors import WxError
from wechat_sim.images import wxacode_png
from wechat_sim.model import Wxacode

routes = web.RouteTableDef()

_SCENE_CHARS = re.compile(r"^[0-9a-zA-Z!#$&'()*+,/:;=?@\-._~]*$")


@routes.get("/sns/jscode2session")
@wx_api("sns/jscode2session")
async def jscode2session(call: Call) -> dict[str, Any]:
    q = call.query  # an extra access_token (wechatpy sends one) is accepted and ignored
    if q.get("grant_type", "authorization_code") != "authorization_code":
        raise WxError(40002)
    app = call.app_by_secret(q.get("appid"), q.get("secret"))
    if app.kind != "mp":
        raise WxError(40013)
    if not q.get("js_code"):
        raise WxError(41008)
    code = call.sim.redeem_code(
        q.get("js_code"), "jscode", app.appid, used=call.sim.limits.jscode_reused_errcode, expired=40029
    )
    answer = {
        "session_key": base64.b64encode(os.urandom(16)).decode(),
        "openid": call.sim.openid(code.person_id, app.appid),
    }
    if app.group:
        answer["unionid"] = call.sim.unionid(code.person_id, app.group)
    return answer


@routes.post("/wxa/business/getuserphonenumber")
@wx_api("wxa/business/getuserphonenumber")
async def getuserphonenumber(call: Call) -> dict[str, Any]:
    app = call.app()
    body = await call.json()
    existing = call.sim.store.codes.get(str(body.get("code", "")))
    if existing is not None and existing.kind == "phone" and existing.appid != app.appid:
        raise WxError(40013)
    code = call.sim.redeem_code(body.get("code"), "phone", app.appid, used=40029, expired=40029)
    phone = call.sim.person(code.person_id).phone
    return {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": phone,
            "purePhoneNumber": phone,
            "countryCode": "86",
            "watermark": {"timestamp": int(call.sim.now()), "appid": app.appid},
        },
    }


@routes.post("/wxa/getwxacodeunlimit")
@wx_api("wxa/getwxacodeunlimit")
async def getwxacodeunlimit(call: Call) -> web.Response:
    """Success is a binary PNG body; failures are JSON, as on WeChat."""
    app = call.app()
    if app.kind != "mp":
        raise WxError(48001)
    body = await call.json()
    scene = body.get("scene")
    if not isinstance(scene, str) or not 1 <= len(scene) <= 32:
        raise WxError(40169)
    if not _SCENE_CHARS.match(scene):
        raise WxError(40129)
    page = body.get("page", "")
    if not isinstance(page, str) or page.startswith("/") or "?" in page:
        raise WxError(41030)
    env = body.get("env_version", "release")
    if env not in ("release", "trial", "develop"):
        raise WxError(40097, "env_version")
    width = body.get("width", 430)
    if not isinstance(width, int) or isinstance(width, bool):
        raise WxError(40097, "width")
    width = min(max(width, 280), 1280)
    color = body.get("line_color") or {}
    try:
        dark = "#{:02x}{:02x}{:02x}".format(*(int(color.get(c, 0)) for c in "rgb"))
    except (TypeError, ValueError, AttributeError):
        raise WxError(40097, "line_color") from None
    record = Wxacode(
        id=f"w{call.sim.store.next('wxacode')}",
        appid=app.appid,
        scene=scene,
        page=page,
        env_version=env,
        created_at=call.sim.now(),
    )
    call.sim.store.wxacodes[record.id] = record
    call.sim.touch()
    png = wxacode_png(f"wxacode:{app.appid}:{record.id}", width, dark)
    return web.Response(body=png, content_type="image/png")
