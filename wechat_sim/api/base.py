"""What every simulated WeChat API does before and after its own work: fault injection, the
access_token check, the per-app daily quota, the JSON body rules (UTF-8, no \\uXXXX escapes: 40033),
and the answer envelope (HTTP 200, errcode + errmsg with a ``rid`` suffix)."""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from wechat_sim.clock import beijing_day
from wechat_sim.errors import WxError, error_body, new_rid
from wechat_sim.keys import SIM_STATE
from wechat_sim.model import App
from wechat_sim.simulator import SimError, Simulator

# an odd number of backslashes before "u" + 4 hex digits is a \uXXXX escape
_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u[0-9a-fA-F]{4}")


def json_response(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


class Call:
    """One API call: resolves the app, counts quota, reads the body."""

    def __init__(self, request: web.Request, sim: Simulator, api: str) -> None:
        self.request = request
        self.sim = sim
        self.api = api
        self.appid: str | None = None

    @property
    def query(self) -> Any:
        return self.request.query

    def app(self) -> App:
        """The app whose access_token came with the call (41001/40001/40014/42001 otherwise)."""
        appid = self.sim.tokens.check(self.query.get("access_token"))
        self.appid = appid
        app = self.sim.app(appid)
        self.count(appid)
        return app

    def app_by_secret(self, appid: str | None, secret: str | None) -> App:
        if not appid:
            raise WxError(41002)
        app = self.sim.store.apps.get(appid)
        if app is None:
            raise WxError(40013)
        self.appid = appid
        if not secret:
            raise WxError(41004)
        if secret != app.secret:
            raise WxError(40125)
        return app

    def check_ip(self, app: App) -> None:
        remote = self.request.remote or ""
        if app.ip_allowlist and remote not in app.ip_allowlist:
            raise WxError(40164, f"invalid ip {remote}, not in whitelist")

    def count(self, appid: str) -> None:
        """The per-app daily quota of this API (45009 once used up; resets at Beijing midnight)."""
        limit = self.sim.limits.daily_quotas.get(self.api)
        if limit is None:
            return
        rt = self.sim.runtime(appid)
        today = beijing_day(self.sim.now())
        if rt.quota_day != today:
            rt.quota_day, rt.quota_used = today, {}
        used = rt.quota_used.get(self.api, 0)
        if used >= limit:
            raise WxError(45009)
        rt.quota_used[self.api] = used + 1

    async def json(self) -> dict[str, Any]:
        raw = await self.request.read()
        if not raw.strip():
            raise WxError(44002)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise WxError(40033) from None
        if _ESCAPE.search(text):
            raise WxError(40033)
        try:
            data = json.loads(text)
        except ValueError:
            raise WxError(47001) from None
        if not isinstance(data, dict):
            raise WxError(47001)
        return data


Handler = Callable[[Call], Awaitable[Any]]


def wx_api(api: str) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Wrap a handler ``async def h(call) -> dict | web.StreamResponse | None`` as a WeChat API."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(handler)
        async def view(request: web.Request) -> web.StreamResponse:
            sim = request.app[SIM_STATE]
            call = Call(request, sim, api)
            hint = request.query.get("appid") or sim.tokens.appid_of(request.query.get("access_token"))
            latency, injected = sim.faults.decide(hint, api)
            if latency:
                await asyncio.sleep(latency)
            try:
                if injected is not None:
                    call.appid = hint
                    raise WxError(injected)
                result = await handler(call)
            except WxError as exc:
                sim.log_api(api, call.appid or hint, exc.errcode)
                return json_response(error_body(exc.errcode, exc.errmsg, new_rid()))
            except SimError as exc:  # e.g. an app removed while its token lives
                sim.log_api(api, call.appid or hint, 40013)
                return json_response(error_body(40013, f"invalid appid ({exc.message})"))
            sim.log_api(api, call.appid or hint, 0)
            if isinstance(result, web.StreamResponse):
                return result
            return json_response({"errcode": 0, "errmsg": "ok"} if result is None else result)

        return view

    return wrap
