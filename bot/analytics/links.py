"""The weekly report's pushed link: not a bearer token but a grant for one recipient.

A link carries ``<member>.<expires>.<mac>``: the HMAC binds the report, its tenant and scope
(region or distributor code), the recipient the notice went to and the expiry (``LINK_DAYS``
after it was made). The page also wants the person opening it to be that recipient (WeChat's
silent snsapi_base OAuth in bot/web/reports.py), still a recipient of the scope, and the
delivery not revoked: a forwarded link shows nothing to whoever receives it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

LINK_DAYS = 14


@dataclass(frozen=True, slots=True)
class Grant:
    member_id: int
    expires: int  # epoch seconds


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str  # malformed | tampered | expired


def _mac(
    secret: str, report_id: int, tenant_id: int, scope: str, code: str, member_id: int, expires: int
) -> str:
    body = f"jiubot/report/{tenant_id}/{report_id}/{scope}/{code}/{member_id}/{expires}"
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]


def issue(
    secret: str, *, report_id: int, tenant_id: int, scope: str, code: str, member_id: int, now: float
) -> str:
    expires = int(now) + LINK_DAYS * 86400
    return f"{member_id}.{expires}.{_mac(secret, report_id, tenant_id, scope, code, member_id, expires)}"


def check(
    secret: str, grant: str, *, report_id: int, tenant_id: int, scope: str, code: str, now: float
) -> Grant | Refused:
    parts = grant.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 18:
        return Refused("malformed")
    member_id, expires = int(parts[0]), int(parts[1][:12])
    expected = _mac(secret, report_id, tenant_id, scope, code, member_id, expires)
    if not hmac.compare_digest(expected, parts[2]):
        return Refused("tampered")
    if expires < now:
        return Refused("expired")
    return Grant(member_id, expires)
