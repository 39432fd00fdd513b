from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Receipt:
    kind: str
    status: str
    msgid: str | None = None
    template_id: str | None = None
    detail: str = ""
