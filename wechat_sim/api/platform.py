"""QR codes, menus, users and tags (sections 7-9)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wechat_sim.api.base import Call, wx_api
from wechat_sim.errors import WxError
from wechat_sim.images import qr_png
from wechat_sim.keys import SIM_STATE

routes = web.RouteTableDef()


@routes.post("/cgi-bin/qrcode/create")
@wx_api("cgi-bin/qrcode/create")
async def qrcode_create(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.qr_create(app.appid, await call.json())


@routes.get("/cgi-bin/showqrcode", name="wx_showqrcode")
async def showqrcode(request: web.Request) -> web.Response:
    """No token needed (it lives on mp.weixin.qq.com); expired or unknown tickets get a 404."""
    sim = request.app[SIM_STATE]
    ticket = sim.store.qr.get(request.query.get("ticket", ""))
    if ticket is None or (ticket.expires_at is not None and sim.now() >= ticket.expires_at):
        return web.Response(status=404, text="ticket not found or expired")
    return web.Response(body=qr_png(ticket.url), content_type="image/png")


# menus ---------------------------------------------------------------------------------------
@routes.post("/cgi-bin/menu/create")
@wx_api("cgi-bin/menu/create")
async def menu_create(call: Call) -> None:
    app = call.app()
    call.sim.menu_create(app.appid, await call.json())


@routes.get("/cgi-bin/menu/get")
@wx_api("cgi-bin/menu/get")
async def menu_get(call: Call) -> dict[str, Any]:
    return call.sim.menu_get(call.app().appid)


@routes.get("/cgi-bin/menu/delete")
@wx_api("cgi-bin/menu/delete")
async def menu_delete(call: Call) -> None:
    call.sim.menu_delete(call.app().appid)


@routes.post("/cgi-bin/menu/addconditional")
@wx_api("cgi-bin/menu/addconditional")
async def menu_add_conditional(call: Call) -> dict[str, Any]:
    app = call.app()
    return {"menuid": call.sim.menu_add_conditional(app.appid, await call.json())}


@routes.post("/cgi-bin/menu/delconditional")
@wx_api("cgi-bin/menu/delconditional")
async def menu_del_conditional(call: Call) -> None:
    app = call.app()
    call.sim.menu_del_conditional(app.appid, (await call.json()).get("menuid"))


@routes.post("/cgi-bin/menu/trymatch")
@wx_api("cgi-bin/menu/trymatch")
async def menu_trymatch(call: Call) -> dict[str, Any]:
    app = call.app()
    member = call.sim.by_openid(app.appid, str((await call.json()).get("user_id", "")))
    if member is None:
        raise WxError(46004)
    menu = call.sim.menu_for(member)
    if menu is None:
        raise WxError(46003)
    return {"button": menu["button"]}


# users ---------------------------------------------------------------------------------------
@routes.get("/cgi-bin/user/info")
@wx_api("cgi-bin/user/info")
async def user_info(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.user_info(app.appid, call.query.get("openid"), call.query.get("lang", "zh_CN"))


@routes.post("/cgi-bin/user/info/batchget")
@wx_api("cgi-bin/user/info/batchget")
async def user_batchget(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.user_batchget(app.appid, await call.json())


@routes.get("/cgi-bin/user/get")
@wx_api("cgi-bin/user/get")
async def user_get(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.user_list(app.appid, call.query.get("next_openid", ""))


@routes.post("/cgi-bin/user/info/updateremark")
@wx_api("cgi-bin/user/info/updateremark")
async def user_remark(call: Call) -> None:
    app = call.app()
    call.sim.update_remark(app.appid, await call.json())


# tags ----------------------------------------------------------------------------------------
@routes.post("/cgi-bin/tags/create")
@wx_api("cgi-bin/tags/create")
async def tags_create(call: Call) -> dict[str, Any]:
    app = call.app()
    tag = call.sim.tag_create(app.appid, ((await call.json()).get("tag") or {}).get("name"))
    return {"tag": {"id": tag.id, "name": tag.name}}


@routes.get("/cgi-bin/tags/get")
@wx_api("cgi-bin/tags/get")
async def tags_get(call: Call) -> dict[str, Any]:
    return {"tags": call.sim.tag_list(call.app().appid)}


@routes.post("/cgi-bin/tags/update")
@wx_api("cgi-bin/tags/update")
async def tags_update(call: Call) -> None:
    app = call.app()
    tag = (await call.json()).get("tag") or {}
    call.sim.tag_update(app.appid, tag.get("id"), tag.get("name"))


@routes.post("/cgi-bin/tags/delete")
@wx_api("cgi-bin/tags/delete")
async def tags_delete(call: Call) -> None:
    app = call.app()
    call.sim.tag_delete(app.appid, ((await call.json()).get("tag") or {}).get("id"))


@routes.post("/cgi-bin/tags/members/batchtagging")
@wx_api("cgi-bin/tags/members/batchtagging")
async def tags_batchtagging(call: Call) -> None:
    app = call.app()
    call.sim.tag_members(app.appid, await call.json(), add=True)


@routes.post("/cgi-bin/tags/members/batchuntagging")
@wx_api("cgi-bin/tags/members/batchuntagging")
async def tags_batchuntagging(call: Call) -> None:
    app = call.app()
    call.sim.tag_members(app.appid, await call.json(), add=False)


@routes.post("/cgi-bin/user/tag/get")
@wx_api("cgi-bin/user/tag/get")
async def tag_users(call: Call) -> dict[str, Any]:
    app = call.app()
    body = await call.json()
    return call.sim.tag_users(app.appid, body.get("tagid"), str(body.get("next_openid") or ""))


@routes.post("/cgi-bin/tags/getidlist")
@wx_api("cgi-bin/tags/getidlist")
async def tags_of_user(call: Call) -> dict[str, Any]:
    app = call.app()
    return {"tagid_list": call.sim.tags_of(app.appid, (await call.json()).get("openid"))}
