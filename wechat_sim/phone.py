"""The simulated phone outside WeChat: text messages (SMS) and the printed codes lying around.

* ``POST /_sim/api/sms {"phone", "text", "sender"?}``: an SMS to a phone number. The person with
  that number sees it as a notification on the console's phone (the conversation long poll
  carries it); a number nobody has is kept too (``GET /_sim/api/sms``) so a test can read it.
* ``POST /_sim/api/printed {"label", "url", "kind"?}``: a code printed on paper (a bottle cap, a
  store's counter card). The console lists them under 扫一扫 so a person can scan one.

Kept in memory only: a restart starts with an empty inbox (the sender sends again).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from wechat_sim.keys import SIM_STATE

if TYPE_CHECKING:  # pragma: no cover
    from wechat_sim.simulator import Simulator

routes = web.RouteTableDef()
API = "/_sim/api"
MAX_SMS = 500
MAX_PRINTED = 50


@dataclass(frozen=True, slots=True)
class Sms:
    seq: int
    phone: str
    text: str
    sender: str
    at: float


@dataclass(frozen=True, slots=True)
class Printed:
    label: str
    url: str
    kind: str = "code"  # code (bottle cap) | store (a store's counter card) | other


@dataclass
class Phone:
    inbox: list[Sms] = field(default_factory=list)
    printed: list[Printed] = field(default_factory=list)
    _seq: int = 0

    def receive(self, phone: str, text: str, sender: str = "") -> Sms:
        self._seq += 1
        sms = Sms(self._seq, phone, text, sender or "短信", time.time())
        self.inbox.append(sms)
        del self.inbox[:-MAX_SMS]
        return sms

    def for_phone(self, phone: str, since: int = 0) -> list[Sms]:
        if not phone:
            return []
        return [s for s in self.inbox if s.seq > since and s.phone == phone]

    def print_code(self, label: str, url: str, kind: str = "code") -> Printed:
        item = Printed(label[:60], url, kind)
        self.printed = [p for p in self.printed if p.url != url] + [item]
        del self.printed[:-MAX_PRINTED]
        return item


def send_sms(sim: Simulator, phone: str, text: str, sender: str = "") -> Sms:
    """Deliver an SMS (what a gateway would do) and wake the consoles' long polls."""
    sms = sim.phone.receive(phone, text, sender)
    sim.touch()
    return sms


def sms_view(sms: Sms) -> dict[str, Any]:
    return {"seq": sms.seq, "phone": sms.phone, "text": sms.text, "sender": sms.sender, "at": sms.at}


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="a JSON object is expected")
    return data


@routes.post(API + "/sms")
async def post_sms(request: web.Request) -> web.Response:
    body = await _json(request)
    phone, text = str(body.get("phone", "")).strip(), str(body.get("text", ""))
    if not phone or not text:
        return web.json_response(
            {"error": "bad_request", "message": "phone and text are required"}, status=400
        )
    sms = send_sms(request.app[SIM_STATE], phone, text[:500], str(body.get("sender", ""))[:20])
    return web.json_response(sms_view(sms))


@routes.get(API + "/sms")
async def list_sms(request: web.Request) -> web.Response:
    sim = request.app[SIM_STATE]
    phone = request.query.get("phone", "")
    items = sim.phone.for_phone(phone) if phone else list(sim.phone.inbox)
    return web.json_response([sms_view(s) for s in items], dumps=_dumps)


@routes.post(API + "/printed")
async def post_printed(request: web.Request) -> web.Response:
    body = await _json(request)
    url = str(body.get("url", "")).strip()
    if not url.startswith(("http://", "https://")):
        return web.json_response({"error": "bad_url", "message": "url must be http(s)"}, status=400)
    item = request.app[SIM_STATE].phone.print_code(
        str(body.get("label", url)), url, str(body.get("kind", "code"))
    )
    request.app[SIM_STATE].touch()
    return web.json_response({"label": item.label, "url": item.url, "kind": item.kind})


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)
