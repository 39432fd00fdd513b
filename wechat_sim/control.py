"""The simulator's own control API under ``/_sim/api/`` (JSON): apps, people, acting as a user,
conversations, logs, codes, templates, faults and time. The console page uses it; so can tests and
scripts in other languages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from wechat_sim.api.oauth import PERSON_COOKIE
from wechat_sim.driver import DeliveryResult
from wechat_sim.keys import SIM_STATE
from wechat_sim.model import ROLES, App
from wechat_sim.phone import sms_view
from wechat_sim.simulator import SimError, Simulator
from wechat_sim.store import dump
from wechat_sim.window import remaining

routes = web.RouteTableDef()


def loop_time() -> float:
    return asyncio.get_running_loop().time()


API = "/_sim/api"


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(dump(data), status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def guarded(fn: Callable[[web.Request, Simulator], Awaitable[Any]]):
    async def view(request: web.Request) -> web.StreamResponse:
        try:
            result = await fn(request, request.app[SIM_STATE])
        except SimError as exc:
            status = 404 if exc.code.startswith("unknown_") else 400
            return ok({"error": exc.code, "message": exc.message}, status)
        except (ValueError, TypeError, KeyError) as exc:
            return ok({"error": "bad_request", "message": str(exc)}, 400)
        return result if isinstance(result, web.StreamResponse) else ok(result)

    view.__name__ = fn.__name__
    return view


async def body_of(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    data = await request.json()
    if not isinstance(data, dict):
        raise ValueError("a JSON object is expected")
    return data


def delivery(result: DeliveryResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "ok": result.ok,
        "acked": result.acked,
        "user_error": result.user_error,
        "reason": result.reason,
        "reply": result.reply,
        "elapsed": round(result.elapsed, 4),
        "attempts": [
            {"number": a.number, "outcome": a.outcome, "status": a.status, "elapsed": round(a.elapsed, 4),
             "detail": a.detail}
            for a in result.attempts
        ],
    }  # fmt: skip


def app_view(sim: Simulator, app: App) -> dict[str, Any]:
    rt = sim.runtime(app.appid)
    view = dump(app)
    view.pop("secret")
    if not sim.config.show_secrets:
        for hidden in ("token", "aes_key"):
            view[hidden] = "***" if view.get(hidden) else ""
    view["menu"] = rt.menu
    view["conditional_menus"] = rt.conditional_menus
    view["templates"] = list(rt.templates.values())
    view["qr_codes"] = [
        {"ticket": t.ticket, "scene": t.scene, "url": t.url, "permanent": t.expires_at is None,
         "expires_at": t.expires_at}
        for t in sim.qr_codes(app.appid)[:50]
    ]  # fmt: skip
    return view


# apps and people ---------------------------------------------------------------------------------
@routes.get(API + "/state", name="sim_api_state")
@guarded
async def state(request: web.Request, sim: Simulator) -> Any:
    return {
        "now": sim.now(),
        "apps": [app_view(sim, a) for a in sim.apps()],
        "persons": sim.persons(),
        "roles": ROLES,
        "printed": sim.phone.printed,
    }


@routes.post(API + "/apps")
@guarded
async def add_app(request: web.Request, sim: Simulator) -> Any:
    app = sim.add_app(App(**await body_of(request)))
    return app_view(sim, app)


@routes.patch(API + "/apps/{appid}")
@guarded
async def update_app(request: web.Request, sim: Simulator) -> Any:
    return app_view(sim, sim.update_app(request.match_info["appid"], **await body_of(request)))


@routes.post(API + "/apps/{appid}/verify")
@guarded
async def verify_url(request: web.Request, sim: Simulator) -> Any:
    if sim.driver is None:
        raise SimError("not_started", "the simulator is not running")
    return await sim.driver.verify_url(sim.app(request.match_info["appid"]))


@routes.get(API + "/persons")
@guarded
async def persons(request: web.Request, sim: Simulator) -> Any:
    return sim.persons()


@routes.post(API + "/persons")
@guarded
async def add_person(request: web.Request, sim: Simulator) -> Any:
    body = await body_of(request)
    return sim.add_person(
        str(body.get("name", "")),
        str(body.get("role", "consumer")),
        phone=str(body.get("phone", "")),
        nickname=str(body.get("nickname", "")),
        person_id=body.get("id") or None,
    )


# acting as a user ------------------------------------------------------------------------------------
async def _act(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    pid, appid, action = str(body["person"]), str(body.get("appid", "")), body.get("action")
    extra: dict[str, Any] = {}
    result: DeliveryResult | None
    if action == "follow":
        result = await sim.follow(pid, appid, scene=body.get("scene"))
    elif action == "unfollow":
        result = await sim.unfollow(pid, appid)
    elif action == "text":
        result = await sim.send_text(pid, appid, str(body["text"]), bizmsgmenuid=body.get("bizmsgmenuid"))
    elif action == "click":
        result = await sim.click(pid, appid, str(body["key"]))
    elif action == "menu":
        button, result = await sim.tap_menu(
            pid, appid, str(body["path"]), scan_result=body.get("scan_result")
        )
        extra["button"] = button
    elif action == "scan":
        result = await sim.scan(pid, str(body["what"]), appid or None)
    elif action == "location":
        result = await sim.send_location(
            pid, appid, float(body["lat"]), float(body["lng"]), body.get("label", "")
        )
    elif action == "report_location":
        result = await sim.report_location(pid, appid, float(body["lat"]), float(body["lng"]))
    elif action == "popup":
        choices = {str(k): bool(v) for k, v in dict(body["choices"]).items()}
        result = await sim.subscribe_popup(pid, appid, choices, scene=int(body.get("scene", 1)))
    elif action == "cancel_subscription":
        result = await sim.cancel_subscription(pid, appid, str(body["template_id"]))
    elif action == "enter_session":
        result = await sim.enter_session(pid, appid, str(body.get("session_from", "")))
    elif action == "block_templates":
        sim.block_templates(pid, appid, bool(body.get("blocked", True)))
        result = None
    else:
        raise SimError("bad_action", f"unknown action {action!r}")
    return {"delivery": delivery(result), **extra}


@routes.post(API + "/act")
@guarded
async def act(request: web.Request, sim: Simulator) -> Any:
    return await _act(sim, await body_of(request))


@routes.get(API + "/conversation", name="sim_api_conversation")
@guarded
async def conversation(request: web.Request, sim: Simulator) -> Any:
    """Long poll: with ``wait`` (seconds, <= 30) it answers as soon as there is something new."""
    q = request.query
    pid, appid, since = q["person"], q["appid"], int(q.get("since", 0))
    sms_since = int(q.get("sms_since", 0))
    phone = sim.person(pid).phone
    entries, sms = sim.conversation(pid, appid, since), sim.phone.for_phone(phone, sms_since)
    deadline = loop_time() + min(float(q.get("wait", 0)), 30.0)
    while not entries and not sms and not sim.closing and (left := deadline - loop_time()) > 0:
        await sim.wait_change(left)
        entries, sms = sim.conversation(pid, appid, since), sim.phone.for_phone(phone, sms_since)
    member = sim.member(pid, appid)
    menu = sim.menu_for(member)
    now = sim.now()
    return {
        "entries": entries,
        "last": entries[-1].seq if entries else since,
        "member": {
            "openid": member.openid,
            "following": member.following,
            "tags": member.tagids,
            "window": remaining(member, now),
            "typing": member.typing_until > now,
            "credits": member.credits,
        },
        "menu": menu["button"] if menu else [],
        # text messages to this person's phone number (shown as notifications on the phone)
        "sms": [sms_view(m) for m in sms],
        "sms_last": sms[-1].seq if sms else sms_since,
    }


@routes.get(API + "/outbound")
@guarded
async def outbound(request: web.Request, sim: Simulator) -> Any:
    q = request.query
    return sim.outbound(q.get("appid"), q.get("openid"), q.get("channel"))


@routes.get(API + "/received")
@guarded
async def received(request: web.Request, sim: Simulator) -> Any:
    """Messages accepted per openid on one channel since the start: ``{openid: count}``."""
    return sim.received_counts(request.query["appid"], request.query.get("channel", "kf"))


@routes.get(API + "/deliveries")
@guarded
async def deliveries(request: web.Request, sim: Simulator) -> Any:
    appid = request.query.get("appid")
    return [
        {"appid": d.appid, "message": d.message, **(delivery(d) or {})}
        for d in sim.deliveries
        if appid is None or d.appid == appid
    ]


# codes, templates, faults, time -------------------------------------------------------------------------
@routes.post(API + "/codes")
@guarded
async def codes(request: web.Request, sim: Simulator) -> Any:
    body = await body_of(request)
    kind = body.get("kind", "jscode")
    if kind not in ("jscode", "phone"):
        raise SimError("bad_kind", "kind is jscode (wx.login) or phone (getPhoneNumber)")
    return {"code": sim.issue_code(kind, str(body["person"]), str(body["appid"]))}


@routes.post(API + "/templates")
@guarded
async def templates(request: web.Request, sim: Simulator) -> Any:
    body = await body_of(request)
    template_id = sim.add_template(
        str(body["appid"]),
        str(body["title"]),
        str(body.get("content", "")),
        kind=str(body.get("kind", "template")),
        template_id=body.get("template_id") or None,
    )
    return {"template_id": template_id}


@routes.post(API + "/faults")
@guarded
async def faults(request: web.Request, sim: Simulator) -> Any:
    body = await body_of(request)
    appid = str(body.pop("appid", "*"))
    return sim.faults.set(appid, **body)


@routes.delete(API + "/faults")
@guarded
async def clear_faults(request: web.Request, sim: Simulator) -> Any:
    sim.faults.clear(request.query.get("appid"))
    return {"ok": True}


@routes.post(API + "/invalidate_tokens")
@guarded
async def invalidate_tokens(request: web.Request, sim: Simulator) -> Any:
    body = await body_of(request)
    killed = sim.invalidate_tokens(str(body["appid"]), body.get("family"), int(body.get("errcode", 40001)))
    return {"invalidated": killed}


@routes.post(API + "/clock")
@guarded
async def clock(request: web.Request, sim: Simulator) -> Any:
    sim.advance(float((await body_of(request))["advance"]))
    return {"now": sim.now()}


@routes.post(API + "/jsapi/verify")
@guarded
async def jsapi_verify(request: web.Request, sim: Simulator) -> Any:
    """What ``wx.config`` would answer for a page's signature: ``{"ok": true}`` or false."""
    body = await body_of(request)
    ok = sim.check_jsapi_signature(
        str(body.get("appId", "")),
        str(body.get("url", "")),
        str(body.get("nonceStr", "")),
        str(body.get("timestamp", "")),
        str(body.get("signature", "")),
    )
    # the page that calls wx.config is on another origin (the site under test)
    return web.json_response({"ok": ok}, headers={"Access-Control-Allow-Origin": "*"})


@routes.get(API + "/stats")
@guarded
async def stats(request: web.Request, sim: Simulator) -> Any:
    calls: dict[str, dict[str, int]] = {}
    for (appid, api, errcode), n in sim.api_counts.items():
        row = calls.setdefault(f"{appid or '-'} {api}", {})
        row[str(errcode)] = row.get(str(errcode), 0) + n
    return {"calls": calls, "token_fetches": {a.appid: sim.token_fetches(a.appid) for a in sim.apps()}}


# "inside WeChat": opening an H5 page as a simulated person -----------------------------------------
@routes.get("/_sim/webview", name="sim_webview")
@guarded
async def webview(request: web.Request, sim: Simulator) -> Any:
    """Open a URL as if inside WeChat's browser: later OAuth authorize calls approve for this person.

    Each person has his own phone, so his own browser: when the console switches to another
    person, the cookies this browser sent us (the site's login cookies among them, when the site
    shares our host as in ``jiubot demo``) are dropped, and the next page logs the new person in."""
    person = sim.person(request.query["person"])
    url = request.query["url"]
    if not url.startswith(("http://", "https://", "/")):
        raise SimError("bad_url", "only http(s) URLs open in the web view")
    response = web.Response(status=302, headers={"Location": url})
    if request.cookies.get(PERSON_COOKIE) != person.id:
        for name in request.cookies:
            if name != PERSON_COOKIE:
                response.del_cookie(name, path="/")
    response.set_cookie(PERSON_COOKIE, person.id, path="/", httponly=True, samesite="Lax")
    return response
