"""Refusals of the content domain, each with a machine reason (the web layer maps them to 4xx)."""

from __future__ import annotations


class ContentError(Exception):
    reason = "content_error"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class BadMedia(ContentError):
    """An upload that is not an accepted image/video (SVG, too large, corrupt ...)."""


class NotAllowed(ContentError):
    """A state change or a share refused (not published, wrong role, revoked ...)."""


class NotFound(ContentError):
    pass
