"""Routing WeChat pushes to handlers: router, filters, middleware, dispatcher."""

from bot.dispatch.context import EventContext, MemberLock
from bot.dispatch.dispatcher import Dispatcher
from bot.dispatch.router import Router, SkipHandler, in_flow, state_is, text_word

__all__ = [
    "Dispatcher",
    "EventContext",
    "MemberLock",
    "Router",
    "SkipHandler",
    "in_flow",
    "state_is",
    "text_word",
]
