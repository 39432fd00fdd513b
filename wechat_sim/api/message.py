"""Sending: customer service, typing, template messages, subscription notifications, and the
template management calls an app makes to get its template ids (sections 5, 6)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wechat_sim.api.base import Call, wx_api
from wechat_sim.errors import WxError

routes = web.RouteTableDef()


@routes.post("/cgi-bin/message/custom/send")
@wx_api("cgi-bin/message/custom/send")
async def custom_send(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.kf_send(app.appid, await call.json())


@routes.post("/cgi-bin/message/mass/sendall")
@wx_api("cgi-bin/message/mass/sendall")
async def mass_sendall(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.mass_sendall(app.appid, await call.json())


@routes.post("/cgi-bin/message/custom/typing")
@wx_api("cgi-bin/message/custom/typing")
async def custom_typing(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.kf_typing(app.appid, await call.json())


@routes.post("/cgi-bin/message/custom/business/typing")
@wx_api("cgi-bin/message/custom/typing")
async def mp_custom_typing(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.kf_typing(app.appid, await call.json())


@routes.post("/cgi-bin/message/template/send")
@wx_api("cgi-bin/message/template/send")
async def template_send(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.template_send(app.appid, await call.json())


@routes.post("/cgi-bin/message/subscribe/bizsend")
@wx_api("cgi-bin/message/subscribe/bizsend")
async def subscribe_bizsend(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.subscribe_send(app.appid, await call.json(), channel="bizsend")


@routes.post("/cgi-bin/message/subscribe/send")
@wx_api("cgi-bin/message/subscribe/send")
async def subscribe_send(call: Call) -> dict[str, Any]:
    app = call.app()
    return call.sim.subscribe_send(app.appid, await call.json(), channel="subscribe")


# template management ---------------------------------------------------------------------------
@routes.post("/cgi-bin/template/api_add_template")
@wx_api("cgi-bin/template/api_add_template")
async def api_add_template(call: Call) -> dict[str, Any]:
    app = call.app()
    body = await call.json()
    short = body.get("template_id_short")
    if not isinstance(short, str) or not short:
        raise WxError(40037)
    names = body.get("keyword_name_list") or []
    title = f"模板 {short}"
    content = "\n".join(f"{name}：{{{{keyword{i}.DATA}}}}" for i, name in enumerate(names, 1))
    template_id = call.sim.add_template(app.appid, title, content, kind="template")
    return {"errcode": 0, "errmsg": "ok", "template_id": template_id}


@routes.get("/cgi-bin/template/get_all_private_template")
@wx_api("cgi-bin/template/get_all_private_template")
async def all_private_templates(call: Call) -> dict[str, Any]:
    app = call.app()
    templates = call.sim.runtime(app.appid).templates.values()
    return {
        "template_list": [
            {
                "template_id": t.template_id,
                "title": t.title,
                "primary_industry": "",
                "deputy_industry": "",
                "content": t.content,
                "example": "",
            }
            for t in templates
            if t.kind == "template"
        ]
    }


@routes.post("/cgi-bin/template/del_private_template")
@wx_api("cgi-bin/template/del_private_template")
async def del_private_template(call: Call) -> None:
    app = call.app()
    body = await call.json()
    templates = call.sim.runtime(app.appid).templates
    template = templates.get(str(body.get("template_id")))
    if template is None or template.kind != "template":
        raise WxError(40037)
    del templates[template.template_id]
    call.sim.touch()


@routes.post("/wxaapi/newtmpl/addtemplate")
@wx_api("wxaapi/newtmpl/addtemplate")
async def newtmpl_add(call: Call) -> dict[str, Any]:
    app = call.app()
    body = await call.json()
    tid = body.get("tid")
    if not tid:
        raise WxError(47003, "tid")
    title = str(body.get("sceneDesc") or f"订阅模板 {tid}")
    kids = body.get("kidList") or []
    content = "\n".join(f"{{{{thing{k}.DATA}}}}" for k in kids)
    template_id = call.sim.add_template(app.appid, title, content, kind="subscribe")
    return {"errcode": 0, "errmsg": "ok", "priTmplId": template_id}


@routes.get("/wxaapi/newtmpl/gettemplate")
@wx_api("wxaapi/newtmpl/gettemplate")
async def newtmpl_list(call: Call) -> dict[str, Any]:
    app = call.app()
    templates = call.sim.runtime(app.appid).templates.values()
    return {
        "errcode": 0,
        "errmsg": "ok",
        "data": [
            {"priTmplId": t.template_id, "title": t.title, "content": t.content, "example": "", "type": 2}
            for t in templates
            if t.kind == "subscribe"
        ],
    }


@routes.post("/wxaapi/newtmpl/deltemplate")
@wx_api("wxaapi/newtmpl/deltemplate")
async def newtmpl_delete(call: Call) -> None:
    app = call.app()
    body = await call.json()
    templates = call.sim.runtime(app.appid).templates
    template = templates.get(str(body.get("priTmplId")))
    if template is None or template.kind != "subscribe":
        raise WxError(40037)
    del templates[template.template_id]
    call.sim.touch()
