"""The reach budget (ARCHITECTURE.md mechanism 5): who may be messaged now, and through what.

WeChat lets an account push customer-service (kf) messages only inside windows the user opened
(WECHAT_PROTOCOL.md 5): 5 messages in 48 h after a user message, 3 in 1 minute after a follow, a
QR scan or a menu click (2 in 1 minute after entering a mini-program kf session). Outside them,
only a subscription notification (one per one-time subscribe credit the user granted for that
template) or a template message (followers only, service notices, never marketing) can reach
them. Sending blind costs quota and earns 45015/45047/43004/43101.

State lives in Redis per (appid, openid), because WeChat counts per openid of one app:

* ``reach:w:{appid}:{openid}`` hash: ``{trigger}:at`` (ms) and ``{trigger}:n`` (sent) per window;
  expires with the longest window;
* ``reach:p:{appid}:{openid}`` hash: ``follow`` (1/0; absent = unknown), ``refuse`` (48002) and
  ``sub:{template_id}`` credits.

Interactions are recorded by ``record`` (a ``Pipeline.recorders`` entry: one EVAL added to the
callback's one pipelined round trip; idempotent per message). A kf slot and a subscribe credit
are taken by Lua scripts, so concurrent senders never exceed the quota; a failed send gives them
back only when WeChat answered that it did not send.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

from bot.messages import Inbound
from bot.messaging.interface import Receipt
from bot.ports import Recipient
from bot.redis import Keys
from bot.redis_mux import CommandArg

CUSTOMER_SERVICE = "customer_service"
SUBSCRIBE = "subscribe"
TEMPLATE = "template"
NONE = "none"

PROFILE_TTL = 400 * 86400


@dataclass(frozen=True, slots=True)
class WindowRule:
    quota: int  # messages the account may send ...
    seconds: int  # ... within this long after the interaction


DEFAULT_WINDOWS: Mapping[str, WindowRule] = {
    "message": WindowRule(5, 48 * 3600),
    "follow": WindowRule(3, 60),
    "scan": WindowRule(3, 60),
    "click": WindowRule(3, 60),
    "enter_session": WindowRule(2, 60),
}


@dataclass(frozen=True, slots=True)
class Slot:
    """A customer-service slot taken from the window opened by ``trigger`` at ``opened_at`` (ms)."""

    trigger: str
    opened_at: int


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    channel: str  # customer_service, subscribe, template or none
    reason: str
    template_id: str | None = None


@dataclass(frozen=True, slots=True)
class ReachState:
    """A read-only snapshot for ``decide``."""

    kf_trigger: str | None  # the window a kf message would use, None if closed
    kf_reason: str  # why it is closed
    following: bool | None  # None = unknown
    refuses: bool
    credits: int  # for the subscribe template asked about


# KEYS: window hash, profile hash. ARGV: now ms, margin ms, take (1/0), then trigger, quota, window ms...
# Returns {trigger, opened_at} or {'', reason}.
_SLOT = """
local p = redis.call('HMGET', KEYS[2], 'follow', 'refuse')
if p[1] == '0' then return {'', 'unfollowed'} end
if p[2] == '1' then return {'', 'refuses_messages'} end
local now = tonumber(ARGV[1])
local margin = tonumber(ARGV[2])
local best, best_at, best_end = nil, nil, nil
local seen, used_up = false, false
for i = 4, #ARGV, 3 do
  local trig = ARGV[i]
  local quota = tonumber(ARGV[i + 1])
  local win = tonumber(ARGV[i + 2])
  local at = tonumber(redis.call('HGET', KEYS[1], trig .. ':at') or '')
  if at then
    seen = true
    local used = tonumber(redis.call('HGET', KEYS[1], trig .. ':n') or '0')
    local ends = at + win - math.min(margin, math.floor(win / 20))
    if now < ends then
      if used < quota then
        if best_end == nil or ends < best_end then best, best_at, best_end = trig, at, ends end
      else
        used_up = true
      end
    end
  end
end
if not best then
  if used_up then return {'', 'window_quota_used'} end
  if seen then return {'', 'window_closed'} end
  return {'', 'no_interaction'}
end
if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], best .. ':n', 1) end
return {best, tostring(best_at)}
"""

# KEYS: window hash, profile hash. ARGV: trigger ('' = unfollow), opened ms, window ttl ms,
# follow ('1', '0' or ''), clear refuse ('1' or ''), profile ttl s. A window is (re)opened only by
# a newer interaction, so recording one message twice never hands out its quota twice.
_RECORD = """
if ARGV[1] == '' then
  redis.call('DEL', KEYS[1])
else
  local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':at') or '')
  if cur == nil or tonumber(ARGV[2]) > cur then
    redis.call('HSET', KEYS[1], ARGV[1] .. ':at', ARGV[2], ARGV[1] .. ':n', 0)
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'follow', ARGV[4]) end
if ARGV[5] == '1' then redis.call('HDEL', KEYS[2], 'refuse') end
if ARGV[4] ~= '' or ARGV[5] == '1' then redis.call('EXPIRE', KEYS[2], ARGV[6]) end
return 1
"""

# KEYS: window hash. ARGV: trigger, opened_at. Gives a slot back if that window is still the same.
_REFUND = """
if redis.call('HGET', KEYS[1], ARGV[1] .. ':at') == ARGV[2] then
  local n = tonumber(redis.call('HGET', KEYS[1], ARGV[1] .. ':n') or '0')
  if n > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1] .. ':n', -1) return 1 end
end
return 0
"""

# KEYS: profile hash. ARGV: field. Takes one subscribe credit.
_CREDIT = """
local n = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if n > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], -1) return 1 end
return 0
"""


class EvalBatch(Protocol):
    """Where ``record`` queues its EVAL: the callback's finishing round trip (``CommandBatch``)."""

    def eval(self, script: str, numkeys: int, *args: CommandArg) -> None: ...


class ReachBudget:
    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        windows: Mapping[str, WindowRule] | None = None,
        *,
        margin_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.windows = dict(DEFAULT_WINDOWS if windows is None else windows)
        self.margin_ms = int(margin_seconds * 1000)
        self.clock = clock
        self._longest_ms = max(rule.seconds for rule in self.windows.values()) * 1000
        self._window_args: list[CommandArg] = []
        for trigger, rule in self.windows.items():
            self._window_args += [trigger, rule.quota, rule.seconds * 1000]
        self._slot = redis.register_script(_SLOT)
        self._refund = redis.register_script(_REFUND)
        self._credit = redis.register_script(_CREDIT)

    def _w(self, appid: str, openid: str) -> str:
        return self.keys("reach", "w", appid, openid)

    def _p(self, appid: str, openid: str) -> str:
        return self.keys("reach", "p", appid, openid)

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # recording (hot path: plain pipelined commands, no round trip of its own) -------------------
    def record(self, pipe: EvalBatch, message: Inbound, member_id: int | None = None) -> None:
        """``Pipeline.recorders`` entry: note the interaction and the follower state.

        One EVAL added to the callback's pipelined round trip (EVAL with the script text, not
        EVALSHA: a pipeline with registered scripts would first ask SCRIPT EXISTS, an extra round
        trip on the hot path). Recording the same message twice changes nothing (see ``note``).
        """
        call = self._record_args(message)
        if call is not None:
            pipe.eval(_RECORD, 2, *call)

    async def note(self, message: Inbound) -> None:
        """Record ``message`` now, for a handler that pushes before its callback is settled (the
        pipeline records it again afterwards; the window is not reset by that)."""
        call = self._record_args(message)
        if call is not None:
            await self.redis.eval(_RECORD, 2, *call)

    def _record_args(self, message: Inbound) -> list[CommandArg] | None:
        w, p = self._w(message.appid, message.openid), self._p(message.appid, message.openid)
        if message.event == "unsubscribe":
            return [w, p, "", 0, self._longest_ms, "0", "", PROFILE_TTL]
        trigger = "enter_session" if message.event == "user_enter_tempsession" else message.trigger
        if trigger is None or trigger not in self.windows:
            return None
        now = self._now_ms()
        # The window opens when the user acted (CreateTime), not when the handler finished; a
        # clock more than 5 minutes off is not trusted.
        opened = message.create_time * 1000
        if abs(opened - now) > 300_000:
            opened = now
        # Only followers can message, click or get SCAN; a mini-program session says nothing.
        follow = "" if trigger == "enter_session" else "1"
        clear_refuse = "1" if trigger == "message" else ""
        return [w, p, trigger, opened, self._longest_ms, follow, clear_refuse, PROFILE_TTL]

    # customer-service slots -------------------------------------------------------------------
    async def take_slot(self, appid: str, openid: str) -> Slot | str:
        """Atomically use one kf message of the window that closes first; a reason string if none."""
        return await self._run_slot(appid, openid, take=True)

    async def _run_slot(self, appid: str, openid: str, *, take: bool) -> Slot | str:
        args: list[CommandArg] = [self._now_ms(), self.margin_ms, "1" if take else "0", *self._window_args]
        trigger, second = await self._slot(keys=[self._w(appid, openid), self._p(appid, openid)], args=args)
        trigger = trigger.decode() if isinstance(trigger, bytes) else trigger
        second = second.decode() if isinstance(second, bytes) else second
        return Slot(trigger, int(second)) if trigger else second

    def slot_eval(self, appid: str, openid: str) -> tuple[str, int, list[CommandArg]]:
        """``take_slot`` as an EVAL (script, numkeys, keys and args) for a caller's own pipelined
        round trip (a campaign sender's in-flight marker goes with it); read the answer with
        ``slot_answer``."""
        args: list[CommandArg] = [self._now_ms(), self.margin_ms, "1", *self._window_args]
        return _SLOT, 2, [self._w(appid, openid), self._p(appid, openid), *args]

    @staticmethod
    def slot_answer(answer: list[bytes | str]) -> Slot | str:
        trigger, second = (a.decode() if isinstance(a, bytes) else a for a in answer)
        return Slot(trigger, int(second)) if trigger else second

    async def refund_slot(self, appid: str, openid: str, slot: Slot) -> bool:
        return bool(await self._refund(keys=[self._w(appid, openid)], args=[slot.trigger, slot.opened_at]))

    # subscribe credits ------------------------------------------------------------------------
    async def add_credit(self, appid: str, openid: str, template_id: str, count: int = 1) -> None:
        p = self._p(appid, openid)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hincrby(p, f"sub:{template_id}", count)
        pipe.expire(p, PROFILE_TTL)
        await pipe.execute()

    async def clear_credits(self, appid: str, openid: str, template_id: str) -> None:
        await self.redis.hdel(self._p(appid, openid), f"sub:{template_id}")

    async def take_credit(self, appid: str, openid: str, template_id: str) -> bool:
        return bool(await self._credit(keys=[self._p(appid, openid)], args=[f"sub:{template_id}"]))

    async def refund_credit(self, appid: str, openid: str, template_id: str) -> None:
        await self.redis.hincrby(self._p(appid, openid), f"sub:{template_id}", 1)

    async def credits(self, appid: str, openid: str, template_id: str) -> int:
        return int(await self.redis.hget(self._p(appid, openid), f"sub:{template_id}") or 0)

    # corrections from WeChat's answers ----------------------------------------------------------
    async def correct(self, appid: str, openid: str, errcode: int, *, template_id: str | None = None) -> None:
        """WeChat disagreed with the budget: 45015/45047 close the windows, 43004 marks a
        non-follower, 43101 drops the template's credits, 48002 marks that messages are refused."""
        w, p = self._w(appid, openid), self._p(appid, openid)
        pipe = self.redis.pipeline(transaction=False)
        if errcode in (45015, 45047):
            pipe.delete(w)
        elif errcode in (43004, 50005):
            pipe.delete(w)
            pipe.hset(p, "follow", "0")
        elif errcode == 43101 and template_id:
            pipe.hdel(p, f"sub:{template_id}")
        elif errcode == 48002:
            pipe.hset(p, "refuse", "1")
        else:
            return
        pipe.expire(p, PROFILE_TTL)
        await pipe.execute()

    async def on_receipts(self, app: object, message: Inbound, receipts: list[Receipt]) -> None:
        """``receipt_hooks`` entry: subscribe popups grant (accept) or drop (reject) credits."""
        for r in receipts:
            if not r.template_id:
                continue
            if r.kind == "subscribe_popup" and r.status == "accept":
                await self.add_credit(message.appid, message.openid, r.template_id)
            elif r.kind in ("subscribe_popup", "subscribe_change") and r.status == "reject":
                await self.clear_credits(message.appid, message.openid, r.template_id)

    async def set_following(self, appid: str, openid: str, following: bool) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self._p(appid, openid), "follow", "1" if following else "0")
        pipe.expire(self._p(appid, openid), PROFILE_TTL)
        if not following:
            pipe.delete(self._w(appid, openid))
        await pipe.execute()

    # choosing -----------------------------------------------------------------------------------
    async def state(self, appid: str, openid: str, *, subscribe_template: str | None = None) -> ReachState:
        slot = await self._run_slot(appid, openid, take=False)
        follow, refuse, credits = await self.redis.hmget(
            self._p(appid, openid), ["follow", "refuse", f"sub:{subscribe_template or '-'}"]
        )
        return ReachState(
            kf_trigger=slot.trigger if isinstance(slot, Slot) else None,
            kf_reason="open" if isinstance(slot, Slot) else slot,
            following=None if follow is None else follow == b"1",
            refuses=refuse == b"1",
            credits=int(credits or 0) if subscribe_template else 0,
        )

    async def choose_channel(
        self,
        appid: str,
        openid: str,
        purpose: str,
        *,
        customer_service: bool = True,
        subscribe_template: str | None = None,
        template_id: str | None = None,
    ) -> ChannelChoice:
        """Which channel a message for ``purpose`` (reply, service, marketing) would take now.

        Read-only: the caller takes the slot or credit with ``take_slot``/``take_credit``.
        """
        state = await self.state(appid, openid, subscribe_template=subscribe_template)
        return decide(
            state,
            purpose,
            customer_service=customer_service,
            subscribe_template=subscribe_template,
            template_id=template_id,
        )

    async def choose(self, recipient: Recipient, purpose: str, **kw: object) -> ChannelChoice:
        """``choose_channel`` for a ``Recipient`` (the port's vocabulary)."""
        return await self.choose_channel(recipient.appid, recipient.openid, purpose, **kw)  # type: ignore[arg-type]


def decide(
    state: ReachState,
    purpose: str,
    *,
    customer_service: bool = True,
    subscribe_template: str | None = None,
    template_id: str | None = None,
) -> ChannelChoice:
    """The channel policy, pure: kf inside a window, else a subscribe credit, else a template for
    service notices to followers; marketing never goes out as a template, replies only as kf."""
    if state.refuses:
        return ChannelChoice(NONE, "refuses_messages")
    if customer_service and state.kf_trigger:
        return ChannelChoice(CUSTOMER_SERVICE, f"window:{state.kf_trigger}")
    closed = state.kf_reason if state.kf_trigger is None else "customer_service_not_used"
    if purpose == "reply":
        return ChannelChoice(NONE, closed)
    if subscribe_template and state.credits > 0:
        return ChannelChoice(SUBSCRIBE, f"credit:{state.credits}", subscribe_template)
    if template_id:
        if purpose != "service":
            return ChannelChoice(NONE, f"{closed};templates_are_for_service_notices_only")
        if state.following is False:
            return ChannelChoice(NONE, f"{closed};not_following")
        return ChannelChoice(TEMPLATE, f"{closed};service_notice", template_id)
    if subscribe_template:
        return ChannelChoice(NONE, f"{closed};no_subscribe_credit")
    return ChannelChoice(NONE, closed)
