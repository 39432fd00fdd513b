"""The OpenAPI 3.1 document, generated from the route table and the pydantic models.

``backend_client/openapi.yaml`` is this document checked in for the client side (regenerate with
``jiubot core openapi > backend_client/openapi.yaml``; a test fails when they differ). The service
serves it at ``openapi.json`` under wherever it is mounted.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydantic import BaseModel, TypeAdapter

from reference_core.api import admin_routes, coupon_routes, order_routes, org_routes, promotion_routes
from reference_core.api.registry import Operation
from reference_core.errors import STATUS, ErrorCode
from reference_core.schemas.common import ErrorResponse, Health
from reference_core.schemas.webhooks import CouponRedeemedEvent, OrderStatusChangedEvent

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"

DESCRIPTION = """\
The brand's core ordering & promotion API as jiubot uses it: organisation, catalog, store prices,
stock, quotes, orders with logistics, promotions, coupons, and webhooks back to jiubot.

* Auth: `Authorization: Bearer <tenant API key>`; every resource belongs to the key's tenant.
* Money is integer fen (分) everywhere; quantities are bottles unless a field says cases.
* Errors: `{"error": {"code", "message", "details"}}`; clients map on the stable `code`.
* Writes that must happen once take an `Idempotency-Key` header: the same key and body return the
  first outcome (header `Idempotent-Replayed: true`), the same key with another body is a 409.
* Lists are cursor-paged: pass `next_cursor` back as `cursor`.

See docs/core-api.md for each resource, the promotion rules and the webhook signature.
"""


def operations() -> list[Operation]:
    tables = [org_routes, order_routes, promotion_routes, coupon_routes, admin_routes]
    return [op for module in tables for op in module.routes.operations]


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def schema(self, tp: Any, mode: str) -> dict[str, Any]:
        generated = TypeAdapter(tp).json_schema(mode=mode, ref_template=REF)  # type: ignore[arg-type]
        for name, definition in generated.pop("$defs", {}).items():
            self._add(name, definition)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            self._add(tp.__name__, generated)
            return {"$ref": REF.format(model=tp.__name__)}
        return generated

    def _add(self, name: str, definition: dict[str, Any]) -> None:
        if self.schemas.setdefault(name, definition) != definition:
            raise ValueError(f"two different schemas are named {name}")


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """Optional query parameters are simply left out; 'null' cannot be sent in a query string."""
    options = schema.get("anyOf")
    if options and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        merged = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        schema = {**rest[0], **merged} if len(rest) == 1 else {**merged, "anyOf": rest}
    return schema


def _parameters(op: Operation, components: _Components) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for where, model in (("path", op.path_params), ("query", op.query)):
        if model is None:
            continue
        generated = TypeAdapter(model).json_schema(mode="validation", ref_template=REF)
        for name, definition in generated.pop("$defs", {}).items():
            components._add(name, definition)
        required = set(generated.get("required", []))
        for name, prop in generated["properties"].items():
            prop = _without_null(prop)
            prop.pop("title", None)
            param: dict[str, Any] = {
                "name": name,
                "in": where,
                "required": where == "path" or name in required,
            }
            if "description" in prop:
                param["description"] = prop.pop("description")
            param["schema"] = prop
            if prop.get("type") == "array":
                param["style"], param["explode"] = "form", True
            params.append(param)
    if op.idempotency:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": op.idempotency == "required",
                "description": "one key per attempt of this write (e.g. a UUID or a flow id + cart version)",
                "schema": {"type": "string", "pattern": r"^[A-Za-z0-9._:/+=-]{1,200}$"},
            }
        )
    return params


def _error_statuses(op: Operation) -> dict[int, list[ErrorCode]]:
    codes: list[ErrorCode] = [*op.errors, ErrorCode.UNAUTHORIZED]
    if op.path_params or op.query or op.body is not None or op.idempotency:
        codes += [ErrorCode.VALIDATION_FAILED]
    if op.body is not None:
        codes += [ErrorCode.INVALID_JSON, ErrorCode.PAYLOAD_TOO_LARGE]
    if op.idempotency == "required":
        codes += [ErrorCode.IDEMPOTENCY_KEY_REQUIRED]
    if op.admin:
        codes += [ErrorCode.NOT_FOUND]
    grouped: dict[int, list[ErrorCode]] = defaultdict(list)
    for code in dict.fromkeys(codes):
        grouped[STATUS[code]].append(code)
    return dict(sorted(grouped.items()))


def _operation(op: Operation, components: _Components) -> dict[str, Any]:
    success: dict[str, Any] = {
        "description": op.summary,
        "content": {"application/json": {"schema": components.schema(op.response, "serialization")}},
    }
    if op.idempotency:
        success["headers"] = {
            "Idempotent-Replayed": {
                "description": "present (true) when this is the stored outcome of an earlier request",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    responses: dict[str, Any] = {str(op.status): success}
    error_ref = components.schema(ErrorResponse, "serialization")
    for status, codes in _error_statuses(op).items():
        responses[str(status)] = {
            "description": "error codes: " + ", ".join(c.value for c in codes),
            "content": {"application/json": {"schema": error_ref}},
        }
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.description:
        out["description"] = op.description
    params = _parameters(op, components)
    if params:
        out["parameters"] = params
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": components.schema(op.body, "validation")}},
        }
    out["responses"] = responses
    return out


def _webhook(summary: str, model: type[BaseModel], components: _Components) -> dict[str, Any]:
    headers = [
        ("X-Core-Event-Id", "the event id (also in the body); dedupe on it"),
        ("X-Core-Event-Type", "order.status_changed or coupon.redeemed"),
        ("X-Core-Timestamp", "Unix seconds when this attempt was signed"),
        ("X-Core-Signature", "sha256=<hex HMAC-SHA256(secret, timestamp + '.' + raw body)>"),
    ]
    return {
        "post": {
            "summary": summary,
            "description": "Retried with exponential backoff until the receiver answers 2xx (at least once; "
            "events may repeat or arrive out of order).",
            "parameters": [
                {"name": n, "in": "header", "required": True, "description": d, "schema": {"type": "string"}}
                for n, d in headers
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": components.schema(model, "serialization")}},
            },
            "responses": {"2XX": {"description": "acknowledged; any other answer is retried"}},
        }
    }


def document(server_url: str = "/") -> dict[str, Any]:
    components = _Components()
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    paths["/healthz"]["get"] = {
        "operationId": "health",
        "summary": "Liveness",
        "tags": ["meta"],
        "security": [],
        "responses": {
            "200": {
                "description": "up",
                "content": {"application/json": {"schema": components.schema(Health, "serialization")}},
            }
        },
    }
    for op in operations():
        paths[op.path][op.method.lower()] = _operation(op, components)
    webhooks = {
        "order.status_changed": _webhook("An order changed status", OrderStatusChangedEvent, components),
        "coupon.redeemed": _webhook("A coupon was redeemed", CouponRedeemedEvent, components),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jiubot core ordering & promotion API",
            "version": VERSION,
            "description": DESCRIPTION,
        },
        "servers": [{"url": server_url}],
        "security": [{"apiKey": []}],
        "tags": [{"name": tag} for tag in dict.fromkeys(["meta"] + [op.tag for op in operations()])],
        "paths": dict(paths),
        "webhooks": webhooks,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "the tenant's API key"}
            },
            "schemas": dict(sorted(components.schemas.items())),
        },
    }


def dump_yaml(doc: dict[str, Any]) -> str:
    """YAML for humans: multi-line descriptions as literal blocks."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(doc, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=110)
