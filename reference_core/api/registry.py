"""Operations declared once, with their models: the server and the OpenAPI document read the same table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from reference_core.errors import ErrorCode
from reference_core.idempotency import IdemContext, Outcome
from reference_core.runtime import Core, TenantInfo


@dataclass(frozen=True)
class Call:
    """What a handler receives: parsed, validated input and the services."""

    core: Core
    tenant: TenantInfo
    body: Any
    path: Any
    query: Any
    idem: IdemContext | None
    request: web.Request


Handler = Callable[[Call], Awaitable[BaseModel | Outcome]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    handler: Handler
    body: Any = None
    path_params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[ErrorCode, ...] = ()
    idempotency: Literal["required", "optional"] | None = None
    admin: bool = False
    description: str = ""


class Routes:
    """A module-level table of operations (aiogram-style decorators)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.operations: list[Operation] = []

    def op(self, method: str, path: str, operation_id: str, summary: str, **options: Any):
        def register(handler: Handler) -> Handler:
            self.operations.append(
                Operation(
                    method=method,
                    path=path,
                    operation_id=operation_id,
                    summary=summary,
                    tag=self.tag,
                    handler=handler,
                    description=(handler.__doc__ or "").strip(),
                    **options,
                )
            )
            return handler

        return register
