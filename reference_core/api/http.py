"""Turns an Operation into an aiohttp handler: auth, parsing, validation, idempotency, errors."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from reference_core.api.registry import Call, Operation
from reference_core.errors import CoreError, ErrorCode, validation
from reference_core.idempotency import IdemContext, Outcome, request_hash
from reference_core.runtime import CORE
from reference_core.schemas.common import IdempotencyKey

log = logging.getLogger(__name__)

JSON = "application/json"
_KEY = TypeAdapter(IdempotencyKey)


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, content_type=JSON, headers=headers)


def error_response(exc: CoreError) -> web.Response:
    headers = {"Retry-After": "1"} if exc.code is ErrorCode.BUSY else None
    return json_response(exc.status, orjson.dumps(exc.body()), headers)


def _loc(loc: tuple[Any, ...], prefix: str) -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "tagged-union", "union")):
            continue  # pydantic's internal validator names say nothing to an API user
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def _fields(exc: ValidationError, prefix: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        fields.setdefault(_loc(tuple(error["loc"]), prefix), error["msg"].removeprefix("Value error, "))
    return fields


def _parse_params(model: type[BaseModel] | None, source: Any, prefix: str, *, lists: bool) -> Any:
    if model is None:
        return None
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        if lists and _is_list(field.annotation):
            items = source.getall(name, [])
            if items:
                values[name] = items
        elif name in source:
            values[name] = source[name]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise validation(_fields(exc, prefix)) from None


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


async def _parse_body(request: web.Request, adapter: TypeAdapter[Any], limit: int) -> tuple[Any, Any]:
    raw = await request.read()
    if len(raw) > limit:
        raise CoreError(ErrorCode.PAYLOAD_TOO_LARGE, f"the body is larger than {limit} bytes")
    try:
        plain = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        raise CoreError(ErrorCode.INVALID_JSON, "the body is not valid JSON (UTF-8)") from None
    try:
        return adapter.validate_json(raw or b"null", strict=True), plain
    except ValidationError as exc:
        raise validation(_fields(exc, "")) from None


def build_handler(op: Operation) -> Any:
    body_adapter: TypeAdapter[Any] | None = TypeAdapter(op.body) if op.body is not None else None

    async def handle(request: web.Request) -> web.Response:
        core = request.app[CORE]
        if op.admin and not core.config.admin_enabled:
            raise CoreError(ErrorCode.NOT_FOUND, "the admin API is switched off")
        tenant = await authenticate(core, request)
        path = _parse_params(op.path_params, request.match_info, "path.", lists=False)
        query = _parse_params(op.query, request.query, "query.", lists=True)
        key = _idempotency_key(request, op)
        body, plain = (None, None)
        if body_adapter is not None:
            body, plain = await _parse_body(request, body_adapter, core.config.max_body_bytes)
        idem = None
        if key is not None:
            scope = op.operation_id + "".join(f":{v}" for v in sorted(request.match_info.values()))
            idem = IdemContext(tenant.id, scope, key, request_hash(plain))
        result = await op.handler(Call(core, tenant, body, path, query, idem, request))
        if isinstance(result, Outcome):
            headers = {"Idempotent-Replayed": "true"} if result.replayed else None
            return json_response(result.status, result.body, headers)
        return json_response(op.status, result.__pydantic_serializer__.to_json(result))

    handle.__name__ = op.operation_id
    return handle


def _idempotency_key(request: web.Request, op: Operation) -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        if op.idempotency == "required":
            raise CoreError(
                ErrorCode.IDEMPOTENCY_KEY_REQUIRED, "this request needs an Idempotency-Key header"
            )
        return None
    if op.idempotency is None:
        return None
    try:
        return _KEY.validate_python(raw)
    except ValidationError:
        raise validation(
            {"header.Idempotency-Key": "1-200 characters of letters, digits and ._:/+=-"}
        ) from None


async def authenticate(core: Any, request: web.Request) -> Any:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        raise CoreError(ErrorCode.UNAUTHORIZED, "send the tenant's API key as 'Authorization: Bearer <key>'")
    tenant = await core.keys.resolve(token)
    if tenant is None:
        raise CoreError(ErrorCode.UNAUTHORIZED, "unknown API key")
    return tenant


@web.middleware
async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure leaves as ``{"error": {code, message, details}}`` with a stable code."""
    try:
        return await handler(request)
    except CoreError as exc:
        return error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: ErrorCode.NOT_FOUND, 405: ErrorCode.METHOD_NOT_ALLOWED, 413: ErrorCode.PAYLOAD_TOO_LARGE}
        known = code.get(exc.status)
        if known is None:
            return json_response(
                exc.status,
                orjson.dumps({"error": {"code": "http_error", "message": exc.reason, "details": {}}}),
            )
        response = error_response(CoreError(known, exc.reason.lower()))
        if isinstance(exc, web.HTTPMethodNotAllowed):
            response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))  # RFC 9110
        return response
    except PoolTimeout:
        return error_response(CoreError(ErrorCode.BUSY, "the core is overloaded; retry shortly"))
    except DBAPIError as exc:
        if "database is locked" in str(exc.orig):
            return error_response(CoreError(ErrorCode.BUSY, "the database is busy; retry shortly"))
        if isinstance(exc, OperationalError | InterfaceError):  # connection lost, server restarting
            log.warning("database unavailable in %s %s: %s", request.method, request.path, exc.orig)
            return error_response(CoreError(ErrorCode.BUSY, "the database is unavailable; retry shortly"))
        log.exception("database error in %s %s", request.method, request.path)
        return error_response(CoreError(ErrorCode.INTERNAL, "internal error"))
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(CoreError(ErrorCode.INTERNAL, "internal error"))
