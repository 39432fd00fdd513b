"""The one decorator of the mini-program API: session token, validated body and query, and every
failure mapped to ``{"error": code, "message": 中文}`` with its status (see ``errors.py``).

    @routes.post("/mp/api/rewards/redeem")
    @api(member=True, body=RedeemBody)
    async def redeem(request, services, *, session: MpSession, body: RedeemBody) -> dict: ...

The handler gets ``request`` and ``services``, then by keyword what the decorator was asked for:
``session`` (unless ``auth=False``; ``member=True`` also checks that its member still exists),
``body`` and ``query`` (pydantic models from
``schemas.py``). It returns a dict (200) or a response, or raises ``MpError``. Core errors that
reach here become 4xx (the core found the request bad or refused it) or 503 (unavailable).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import pydantic
import structlog
from aiohttp import web

from backend_client import errors as core_errors
from bot import keys
from bot.db import autocommit_scope
from bot.membership import repository as member_repo
from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.session import MpSession, SessionSigner
from bot.miniapp.texts import message
from bot.services import Services

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=pydantic.BaseModel)
View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()  # dataclasses natively; ints past 64 bits are refused by schemas


def json_response(value: Any, *, status: int = 200) -> web.Response:
    return web.json_response(value, status=status, dumps=dumps)


def error_response(exc: MpError) -> web.Response:
    body = {"error": exc.code.value, "message": exc.message or message(exc.code), **exc.extra}
    return json_response(body, status=exc.status)


def services_of(request: web.Request) -> Services:
    return request.app[keys.SERVICES]


def signer_of(services: Services) -> SessionSigner:
    return _signer(services.settings.secret_key, services.settings.mp_session_ttl_seconds)


@functools.lru_cache(maxsize=8)
def _signer(secret_key: str, ttl_seconds: int) -> SessionSigner:
    return SessionSigner(secret_key, ttl_seconds)


def require_session(request: web.Request) -> MpSession:
    """The caller's session from ``Authorization: Bearer <token>``; raises ``MpError`` (401)."""
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not token:
        raise MpError(ErrorCode.SESSION_REQUIRED)
    return signer_of(services_of(request)).verify(token)


async def require_member(services: Services, session: MpSession) -> None:
    """Refuse (401, log in again) a validly signed session whose member no longer exists in its
    tenant: a token outlives a deleted member, and membership handlers assume one (moved here
    from the hardening branch's ``_member_session``, commit 9066ee5)."""
    async with autocommit_scope(services.sessions) as db:  # on every member call: no BEGIN/COMMIT
        found = await member_repo.member_ref(db, session.member_id)
    if found is None or found.tenant_id != session.tenant_id:
        raise MpError(ErrorCode.SESSION_INVALID, "member not found")


# validation -----------------------------------------------------------------------------------------
def _field(exc: pydantic.ValidationError) -> str | None:
    """The wrong field's name (bodies and queries are flat), None when the body as a whole is."""
    for error in exc.errors(include_url=False):
        if error["loc"]:
            return str(error["loc"][0])
    return None


def invalid(exc: pydantic.ValidationError) -> MpError:
    first = exc.errors(include_url=False)[0]
    field = _field(exc)
    extra = {"field": field} if field is not None else {}
    return MpError(ErrorCode.BAD_REQUEST, f"{first['type']}: {first['msg']}", **extra)


async def read_body(request: web.Request, model: type[M]) -> M:
    """The JSON body as ``model`` (an empty body reads as ``{}``); bad input is ``bad_request``."""
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"{}")
    except pydantic.ValidationError as exc:
        raise invalid(exc) from None


def read_query(request: web.Request, model: type[M]) -> M:
    """Query parameters as ``model``: the last value of a repeated name, strings parsed laxly
    (``limit=20``) but bounded as in a body."""
    try:
        return model.model_validate({name: request.query.getall(name)[-1] for name in request.query})
    except pydantic.ValidationError as exc:
        raise invalid(exc) from None


def _from_core(exc: core_errors.CoreError) -> MpError:
    if isinstance(exc, core_errors.BackendUnavailable | core_errors.ProtocolError | core_errors.Unauthorized):
        return MpError(ErrorCode.CORE_UNAVAILABLE, exc.code)
    if isinstance(exc, core_errors.NotFound):
        return MpError(ErrorCode.NOT_FOUND, exc.code)
    if isinstance(exc, core_errors.ValidationFailed):
        return MpError(ErrorCode.CORE_INVALID, exc.code)
    if exc.status is not None and exc.status >= 500:
        return MpError(ErrorCode.CORE_UNAVAILABLE, exc.code)
    return MpError(ErrorCode.CORE_REFUSED, exc.code)


def api(
    *,
    auth: bool = True,
    member: bool = False,
    body: type[pydantic.BaseModel] | None = None,
    query: type[pydantic.BaseModel] | None = None,
) -> Callable[[Callable[..., Awaitable[Any]]], View]:
    """A JSON endpoint: session (401 first; with ``member``, also 401 when the session's member no
    longer exists), then query and body validated (400 with ``field``), then the handler; every
    refusal logged once with its code."""

    def wrap(handler: Callable[..., Awaitable[Any]]) -> View:
        @functools.wraps(handler)
        async def view(request: web.Request) -> web.StreamResponse:
            services = services_of(request)
            try:
                kwargs: dict[str, Any] = {}
                if auth or member:
                    kwargs["session"] = require_session(request)
                if member:
                    await require_member(services, kwargs["session"])
                if query is not None:
                    kwargs["query"] = read_query(request, query)
                if body is not None:
                    kwargs["body"] = await read_body(request, body)
                result = await handler(request, services, **kwargs)
            except MpError as exc:
                return _refuse(request, exc)
            except core_errors.CoreError as exc:
                return _refuse(request, _from_core(exc))
            if isinstance(result, web.StreamResponse):
                return result
            return json_response(result)

        return view

    return wrap


def _refuse(request: web.Request, exc: MpError) -> web.Response:
    log.info(
        "mp_api_refused",
        method=request.method,
        path=request.rel_url.path[:120],
        error=exc.code.value,
        status=exc.status,
        detail=exc.detail[:200],
        field=exc.extra.get("field"),
    )
    return error_response(exc)
