"""HTTP helpers of the console: security headers, the session cookie, CSRF checks, safe
redirects, pages outside the layout."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bot.console.audit import Origin
from bot.console.runtime import CONSOLE, PREFIX
from bot.console.sessions import COOKIE, ConsoleSession

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _headers(response: web.StreamResponse, path: str) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if path.startswith(PREFIX + "/static/"):
        response.headers["Cache-Control"] = "public, max-age=3600"
    else:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = bare(request, "error.html", 404, error="not_found")
    except web.HTTPException as exc:
        _headers(exc, request.path)
        raise
    _headers(response, request.path)
    return response


def origin_of(request: web.Request) -> Origin:
    return Origin(request.remote or "", request.headers.get("User-Agent", "")[:300])


def set_cookie(request: web.Request, response: web.StreamResponse, session: ConsoleSession) -> None:
    """HttpOnly, SameSite=Lax, and Secure when served over HTTPS (directly, or behind a proxy that
    terminates TLS for a public https:// base URL)."""
    public = request.config_dict[CONSOLE].services.settings.public_base_url
    secure = request.secure or public.startswith("https://")
    response.set_cookie(COOKIE, session.sid, path=PREFIX, httponly=True, samesite="Lax", secure=secure)


def safe_next(value: str | None) -> str:
    """Only a console path of this site (no scheme, no //host, no backslash tricks)."""
    if not value or not value.startswith(PREFIX + "/") or "//" in value or "\\" in value:
        return PREFIX + "/"
    return value


async def csrf_ok(request: web.Request, session: ConsoleSession) -> bool:
    sent = request.headers.get("X-CSRF-Token", "")
    if not sent and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = str((await request.post()).get("_csrf", ""))
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf.encode())


def bare(request: web.Request, template: str, status: int, **values: Any) -> web.Response:
    """A page outside the layout (sign-in, errors before sign-in)."""
    return aiohttp_jinja2.render_template(
        f"console/{template}", request, {"prefix": PREFIX, **values}, status=status
    )
