"""Routing WeChat pushes to handlers: router, filters, middleware, dispatcher."""

from bot.dispatch.context import EventContext, MemberLock
from bot.dispatch.dispatcher import Dispatcher
from bot.dispatch.router import Router, in_flow

__all__ = ["Dispatcher", "EventContext", "MemberLock", "Router", "in_flow"]
