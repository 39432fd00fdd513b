"""``WeChatNotifier``: the ``Notifier`` port on WeChat's API, through the reach budget.

* ``deliver_late_reply``: a reply that missed the 5-second window goes out as a customer-service
  message, once per ``source_key`` (Redis ``SET NX``, then the log's unique key);
* at most once: a message whose send timed out (WeChat may have delivered it) is logged
  ``unknown`` and not sent again under the same key; one WeChat refused is ``failed`` and may be
  retried with the same key; template messages also carry ``client_msg_id``;
* ``notify``: any later push (order updates, coupons, invites) with an idempotency key; the reach
  budget picks customer-service, subscription notification or template (service notices only).

Nothing is sent when no channel is open: the message is logged as undeliverable instead of
spending quota on a certain 45015. When WeChat disagrees with the budget (45015, 45047, 43004,
43101, 48002) the budget is corrected and the same channel is not tried again; the next allowed
channel may be. Every try is a row in ``outbound_attempts``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import session_scope
from bot.messages import ImageReply, Inbound, MiniProgramPageReply, MsgMenuReply, NewsReply, Reply, TextReply
from bot.messaging import outbound_log
from bot.messaging.interface import Receipt
from bot.messaging.outbound_log import AttemptRecord
from bot.observability import hash_openid
from bot.ports import Delivery, Purpose, Recipient, SubscribeMessage, TemplateMessage
from bot.redis import Keys
from bot.tenancy.registry import AppConfig, AppRegistry
from bot.wechat.errors import BadRequest, TransportError, UserRefused, WeChatError, WindowClosed
from bot.wechat.outbound import WeChatClient
from bot.wechat.reach import CUSTOMER_SERVICE, NONE, SUBSCRIBE, TEMPLATE, ReachBudget, Slot

log = structlog.get_logger(__name__)

pushes = Counter("jiubot_wechat_pushes_total", "Pushes by final channel and status", ["channel", "status"])


@dataclass(frozen=True, slots=True)
class KfContent:
    """A customer-service message body; ``fallback`` is sent when WeChat refuses the first form."""

    msgtype: str
    payload: dict[str, Any]
    summary: str
    fallback: KfContent | None = field(default=None)


def _text(content: str) -> KfContent:
    return KfContent("text", {"content": content}, content[:200])


def kf_content(item: Reply | str, app_kind: str = "oa") -> KfContent | None:
    """How a reply travels as a customer-service message; None when it cannot (ack, transfer)."""
    mini = app_kind == "mp"  # mini-program kf: text, image, link, miniprogrampage only
    if isinstance(item, str):
        return _text(item)
    if isinstance(item, TextReply):
        return _text(item.content)
    if isinstance(item, ImageReply):
        return KfContent("image", {"media_id": item.media_id}, "[image]")
    if isinstance(item, NewsReply):
        a = item.article
        if mini:
            link = {"title": a.title, "description": a.description, "url": a.url, "thumb_url": a.picurl}
            return KfContent("link", link, a.title)
        article = {"title": a.title, "description": a.description, "url": a.url, "picurl": a.picurl}
        return KfContent("news", {"articles": [article]}, a.title)
    if isinstance(item, MsgMenuReply):
        fallback = (
            item.fallback_text
            or "\n".join([item.head, *(f"{i.id}. {i.content}" for i in item.items), item.tail]).strip()
        )
        if mini:
            return _text(fallback)
        menu = {
            "head_content": item.head,
            "list": [{"id": i.id, "content": i.content} for i in item.items],
            "tail_content": item.tail,
        }
        return KfContent("msgmenu", menu, item.head[:200], fallback=_text(fallback))
    if isinstance(item, MiniProgramPageReply):
        page = {
            "title": item.title,
            "appid": item.appid,
            "pagepath": item.pagepath,
            "thumb_media_id": item.thumb_media_id,
        }
        return KfContent("miniprogrampage", page, item.title)
    return None


class WeChatNotifier:
    def __init__(
        self,
        client: WeChatClient,
        reach: ReachBudget,
        *,
        redis: aioredis.Redis,
        keys: Keys,
        sessions: async_sessionmaker[AsyncSession],
        registry: AppRegistry,
        late_key_ttl: int = 7 * 86400,
    ) -> None:
        self.client = client
        self.reach = reach
        self.redis = redis
        self.keys = keys
        self.sessions = sessions
        self.registry = registry
        self.late_key_ttl = late_key_ttl

    # the port ---------------------------------------------------------------------------------
    async def deliver_late_reply(self, recipient: Recipient, reply: Reply, *, source_key: str) -> Delivery:
        fresh = await self.redis.set(self.keys("wx", "late", source_key), b"1", nx=True, ex=self.late_key_ttl)
        if not fresh:
            return Delivery(delivered=False, channel=NONE, reason="duplicate")
        return await self.notify(recipient, Purpose.REPLY, key=f"late:{source_key}", text=reply)

    async def notify(
        self,
        recipient: Recipient,
        purpose: str,
        *,
        key: str,
        text: Reply | str | None = None,
        template: TemplateMessage | None = None,
        subscribe: SubscribeMessage | None = None,
    ) -> Delivery:
        app = await self.registry.get(recipient.appid)
        if app is None:
            raise ValueError(f"unknown app {recipient.appid}")
        content = kf_content(text, app.kind) if text is not None else None
        other = subscribe or template
        if content is not None:
            kind, summary = content.msgtype, content.summary
        else:
            kind = "subscribe" if subscribe else "template" if template else "none"
            summary = other.template_id if other else ""
        async with session_scope(self.sessions) as session:
            claim = await outbound_log.claim(
                session,
                tenant_id=app.tenant_id,
                appid=app.appid,
                openid=recipient.openid,
                member_id=recipient.member_id,
                key=key,
                purpose=purpose,
                kind=kind,
                summary=summary,
            )
        if not claim.owned:
            return Delivery(delivered=False, channel=claim.channel, reason="duplicate", msgid=claim.msgid)
        tried: set[str] = set()
        refusals: list[str] = []
        while True:
            choice = await self.reach.choose_channel(
                app.appid,
                recipient.openid,
                purpose,
                customer_service=content is not None and CUSTOMER_SERVICE not in tried,
                subscribe_template=subscribe.template_id if subscribe and SUBSCRIBE not in tried else None,
                template_id=template.template_id if template and TEMPLATE not in tried else None,
            )
            if choice.channel == NONE:
                reason = ";".join([*refusals, choice.reason])
                await self._close(
                    app, claim.message_id, "undeliverable", AttemptRecord(NONE, "undeliverable", reason)
                )
                log.info(
                    "push_undeliverable", appid=app.appid, user=hash_openid(recipient.openid), reason=reason
                )
                return Delivery(delivered=False, channel=NONE, reason=reason)
            tried.add(choice.channel)
            if choice.channel == CUSTOMER_SERVICE:
                attempt = await self._send_kf(app, recipient, content)  # type: ignore[arg-type]
            elif choice.channel == SUBSCRIBE:
                attempt = await self._send_subscribe(app, recipient, subscribe)  # type: ignore[arg-type]
            else:
                attempt = await self._send_template(app, recipient, template, key)  # type: ignore[arg-type]
            if attempt is None:  # a concurrent sender took the last slot or credit first
                continue
            if attempt.status == "sent":
                await self._close(app, claim.message_id, "sent", attempt)
                return Delivery(delivered=True, channel=attempt.channel, msgid=attempt.msgid)
            if attempt.status == "refused":
                refusals.append(f"{attempt.channel}:{attempt.errcode}")
                async with session_scope(self.sessions) as session:
                    await outbound_log.add_attempt(
                        session, app.tenant_id, app.appid, claim.message_id, attempt
                    )
                continue
            # "unknown": WeChat may have delivered it (timeout), so the same key is not sent again;
            # "failed": WeChat said no, a later call with the same key may try again.
            await self._close(app, claim.message_id, attempt.status, attempt)
            return Delivery(delivered=False, channel=attempt.channel, reason=attempt.reason)

    # channels ---------------------------------------------------------------------------------
    async def _send_kf(
        self, app: AppConfig, recipient: Recipient, content: KfContent
    ) -> AttemptRecord | None:
        slot = await self.reach.take_slot(app.appid, recipient.openid)
        if not isinstance(slot, Slot):
            return None
        try:
            try:
                await self.client.message.send_custom(
                    app.appid, recipient.openid, content.msgtype, content.payload
                )
            except BadRequest:
                if content.fallback is None:
                    raise
                # e.g. msgmenu refused for this account: the plain-text form says the same.
                await self.client.message.send_custom(
                    app.appid, recipient.openid, content.fallback.msgtype, content.fallback.payload
                )
        except (WindowClosed, UserRefused) as exc:
            await self.reach.correct(app.appid, recipient.openid, exc.errcode or 0)
            return _record(CUSTOMER_SERVICE, "refused", exc)
        except WeChatError as exc:
            if exc.answered:  # WeChat said no, so the message did not use the window
                await self.reach.refund_slot(app.appid, recipient.openid, slot)
            return _record(CUSTOMER_SERVICE, _failure(exc), exc)
        return AttemptRecord(CUSTOMER_SERVICE, "sent", reason=f"window:{slot.trigger}")

    async def _send_subscribe(
        self, app: AppConfig, recipient: Recipient, message: SubscribeMessage
    ) -> AttemptRecord | None:
        if not await self.reach.take_credit(app.appid, recipient.openid, message.template_id):
            return None
        data = dict(message.data)
        mp = (message.miniprogram.appid, message.miniprogram.pagepath) if message.miniprogram else None
        try:
            if app.kind == "mp":
                page = message.page or (message.miniprogram.pagepath if message.miniprogram else "")
                msgid = await self.client.message.send_mp_subscribe(
                    app.appid, recipient.openid, message.template_id, data, page=page
                )
            else:
                msgid = await self.client.message.send_subscription(
                    app.appid, recipient.openid, message.template_id, data, page=message.page, miniprogram=mp
                )
        except (WindowClosed, UserRefused) as exc:
            await self.reach.correct(
                app.appid, recipient.openid, exc.errcode or 0, template_id=message.template_id
            )
            return _record(SUBSCRIBE, "refused", exc)
        except WeChatError as exc:
            if exc.answered and not isinstance(exc, TransportError):
                await self.reach.refund_credit(app.appid, recipient.openid, message.template_id)
            return _record(SUBSCRIBE, _failure(exc), exc)
        return AttemptRecord(SUBSCRIBE, "sent", reason=f"credit:{message.template_id}", msgid=msgid or None)

    async def _send_template(
        self, app: AppConfig, recipient: Recipient, message: TemplateMessage, key: str
    ) -> AttemptRecord:
        mp = (message.miniprogram.appid, message.miniprogram.pagepath) if message.miniprogram else None
        # WeChat-side idempotency as well: a retried send with the same client_msg_id is not repeated.
        client_msg_id = hashlib.sha256(f"{app.appid}:{key}".encode()).hexdigest()[:32]
        try:
            msgid = await self.client.message.send_template(
                app.appid,
                recipient.openid,
                message.template_id,
                dict(message.data),
                url=message.url,
                miniprogram=mp,
                client_msg_id=client_msg_id,
            )
        except (WindowClosed, UserRefused) as exc:
            await self.reach.correct(app.appid, recipient.openid, exc.errcode or 0)
            return _record(TEMPLATE, "refused", exc)
        except WeChatError as exc:
            return _record(TEMPLATE, "failed", exc)
        return AttemptRecord(TEMPLATE, "sent", reason="service_notice", msgid=msgid or None)

    # log --------------------------------------------------------------------------------------
    async def _close(self, app: AppConfig, message_id: int, status: str, attempt: AttemptRecord) -> None:
        async with session_scope(self.sessions) as session:
            await outbound_log.add_attempt(session, app.tenant_id, app.appid, message_id, attempt)
            await outbound_log.finish(session, message_id, status, attempt)
        pushes.labels(channel=attempt.channel, status=status).inc()
        if attempt.msgid:
            # The receipt may have overtaken us (the simulator answers within milliseconds).
            async with session_scope(self.sessions) as session:
                early = await outbound_log.receipt_for(session, app.appid, attempt.msgid)
                if early is not None:
                    await outbound_log.apply_receipt(session, app.appid, attempt.msgid, early)

    async def on_receipts(self, app: AppConfig, message: Inbound, receipts: list[Receipt]) -> None:
        """``receipt_hooks`` entry: TEMPLATESENDJOBFINISH / subscribe_msg_sent_event update the log."""
        for receipt in receipts:
            if receipt.kind in ("template", "subscribe_sent") and receipt.msgid:
                async with session_scope(self.sessions) as session:
                    await outbound_log.apply_receipt(session, message.appid, receipt.msgid, receipt.status)


def _failure(exc: WeChatError) -> str:
    """``unknown`` when the message may have gone out without an answer (never resent)."""
    return "unknown" if isinstance(exc, TransportError) and exc.maybe_sent else "failed"


def _record(channel: str, status: str, exc: WeChatError) -> AttemptRecord:
    return AttemptRecord(
        channel=channel,
        status=status,
        reason=f"{type(exc).__name__}:{exc.errcode}",
        errcode=exc.errcode,
        errmsg=exc.errmsg,
        rid=exc.rid,
    )
