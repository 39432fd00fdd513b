"""``CampaignChannel`` on WeChat: customer-service messages through the reach budget, the shared
rate limiter and the client, with the campaign's in-flight ledger in Redis.

The ledger is one hash per campaign (``camp:{id}:m``): field ``_`` is its sentinel (its absence
means Redis lost the ledger), and per member ``q:<token>`` (fenced for the worker holding
``token``), ``s:<token>`` (started by it: the request to WeChat may be in flight) or
``o:<status>:<reason>`` (the outcome). One round trip per send carries the start marker, the
previous send's outcome and the reach budget's slot (bot/automation/sending.py has the rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError

from bot.automation.send_port import MassResult, Outcome
from bot.redis import Keys
from bot.redis_mux import CommandArg, Mux, Script
from bot.wechat.errors import (
    BadRequest,
    MassAlreadySent,
    NoMassQuota,
    QuotaExceeded,
    TransportError,
    UserRefused,
    WeChatError,
    WindowClosed,
)
from bot.wechat.outbound import WeChatClient
from bot.wechat.reach import ReachBudget, Slot

LEDGER_TTL = 30 * 86400

# KEYS: ledger. ARGV: token, member to start ('' none), member done ('' none), its outcome.
# Returns 1 when the member may be sent to by ``token`` (or none was asked), 0 when fenced.
_STEP = """
if ARGV[3] ~= '' then
  if redis.call('HGET', KEYS[1], ARGV[3]) == 's:' .. ARGV[1] then
    redis.call('HSET', KEYS[1], ARGV[3], 'o:' .. ARGV[4])
  end
end
if ARGV[2] == '' then return 1 end
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if cur and cur ~= 'q:' .. ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], 's:' .. ARGV[1])
return 1
"""

# KEYS: ledger. ARGV: token, members... Returns 'lost' or one verdict per member.
_FENCE = """
if redis.call('HEXISTS', KEYS[1], '_') == 0 then return 'lost' end
local out = {}
for i = 2, #ARGV do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if (not cur) or string.sub(cur, 1, 2) == 'q:' or string.sub(cur, 1, 8) == 'o:retry:' then
    redis.call('HSET', KEYS[1], ARGV[i], 'q:' .. ARGV[1])
    out[#out + 1] = ''
  elseif string.sub(cur, 1, 2) == 's:' then
    out[#out + 1] = 'started'
  else
    out[#out + 1] = string.sub(cur, 3)
  end
end
return out
"""


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class WeChatCampaignChannel:
    """Redis goes through the multiplexed connection (bot/redis_mux.py): the campaign's one round
    trip per send costs tens of microseconds there, several times less than redis-py's."""

    def __init__(self, client: WeChatClient, reach: ReachBudget, mux: Mux, keys: Keys) -> None:
        self.client = client
        self.reach = reach
        self.mux = mux
        self.keys = keys
        self._fence = Script(mux, _FENCE)
        self._step = Script(mux, _STEP)
        self._slot = Script(mux, reach.slot_eval("", "")[0])

    async def _both(self, step: list[CommandArg], slot: list[CommandArg]) -> list[Any]:
        """Both scripts in one round trip by EVALSHA. After a Redis restart (NOSCRIPT) the scripts
        are loaded again and only the one that did not run is run: the start marker is not
        idempotent on purpose (a row queued twice must start once)."""
        scripts = (self._step, self._slot)
        calls = [scripts[0].command(step[:1], step[1:]), scripts[1].command(slot[:2], slot[2:])]
        answers = await self.mux.execute_many(calls)
        for i, answer in enumerate(answers):
            if isinstance(answer, NoScriptError):
                await scripts[i].load()
                answers[i] = await self.mux.execute(*calls[i])
            elif isinstance(answer, Exception):
                raise answer
        return answers

    def _ledger(self, campaign_id: int) -> str:
        return self.keys("camp", campaign_id, "m")

    async def open(self, campaign_id: int, *, fresh: bool) -> None:
        for script in (self._fence, self._step, self._slot):
            await script.load()
        ledger = self._ledger(campaign_id)
        if fresh:
            await self.mux.execute("HSETNX", ledger, "_", "1")
        await self.mux.execute("EXPIRE", ledger, LEDGER_TTL)

    async def fence(self, campaign_id: int, member_ids: Sequence[int], token: str) -> list[str] | None:
        answer = await self._fence([self._ledger(campaign_id)], [token, *member_ids])
        if not isinstance(answer, list):
            return None
        return [_text(a) for a in answer]

    async def forget(self, campaign_id: int, member_ids: Sequence[int]) -> None:
        if member_ids:
            await self.mux.execute("HDEL", self._ledger(campaign_id), *(str(m) for m in member_ids))

    async def note(self, campaign_id: int, token: str, done: tuple[int, str]) -> None:
        await self._step([self._ledger(campaign_id)], [token, "", str(done[0]), done[1]])

    async def send(
        self,
        campaign_id: int,
        token: str,
        member_id: int,
        appid: str,
        openid: str,
        text: str,
        done: tuple[int, str] | None,
    ) -> Outcome:
        done_member, done_outcome = (str(done[0]), done[1]) if done else ("", "")
        step: list[CommandArg] = [self._ledger(campaign_id), token, str(member_id), done_member, done_outcome]
        started, answer = await self._both(step, self.reach.slot_eval(appid, openid)[2])
        slot = ReachBudget.slot_answer(answer)
        if not started:  # another worker took this row over
            if isinstance(slot, Slot):
                await self.reach.refund_slot(appid, openid, slot)
            return Outcome("fenced")
        if not isinstance(slot, Slot):
            return Outcome("unreachable", slot)
        try:
            await self.client.message.send_custom(appid, openid, "text", {"content": text})
        except (WindowClosed, UserRefused) as exc:
            await self.reach.correct(appid, openid, exc.errcode or 0)
            return Outcome("unreachable", f"customer_service:{exc.errcode}")
        except QuotaExceeded as exc:
            await self.reach.refund_slot(appid, openid, slot)
            return Outcome("retry", f"quota:{exc.errcode}", retry_after=min(60.0, exc.retry_after or 1.0))
        except TransportError as exc:
            if exc.maybe_sent:  # WeChat may have delivered it: never sent again
                return Outcome("unknown", "transport")
            await self.reach.refund_slot(appid, openid, slot)
            return Outcome("retry", "not_sent", retry_after=1.0)
        except WeChatError as exc:
            if exc.answered:
                await self.reach.refund_slot(appid, openid, slot)
            return Outcome("unreachable", f"failed:{exc.errcode}")
        return Outcome("sent", f"window:{slot.trigger}")

    # mass send (群发) by tag -------------------------------------------------------------------
    async def ensure_tag(self, appid: str, name: str) -> int:
        """The tag named ``name``, created when missing (a crash after WeChat created it but
        before its id was stored finds it by name: 45157)."""
        try:
            return await self.client.tags.create(appid, name)
        except BadRequest as exc:
            if exc.errcode != 45157:
                raise
        for tag in await self.client.tags.list(appid):
            if tag.get("name") == name:
                return int(tag["id"])
        raise LookupError(f"tag {name!r} refused and not found")

    async def tag(self, appid: str, tag_id: int, openids: Sequence[str]) -> None:
        await self.client.tags.tag(appid, tag_id, openids)

    async def send_to_tag(self, appid: str, tag_id: int, text: str, clientmsgid: str) -> MassResult:
        try:
            msg_id = await self.client.mass.send_text_to_tag(appid, tag_id, text, clientmsgid=clientmsgid)
        except MassAlreadySent:
            return MassResult("already_sent")
        except NoMassQuota:
            return MassResult("refused", reason="mass_quota")
        except TransportError as exc:
            if exc.maybe_sent:
                return MassResult("unknown", reason="transport")
            raise
        except WeChatError as exc:
            return MassResult("refused", reason=f"mass:{exc.errcode}")
        return MassResult("sent", msg_id=str(msg_id))

    async def drop_tag(self, appid: str, tag_id: int) -> None:
        """Tags are few (100 per account, 20 per follower): a campaign's goes once it was sent."""
        await self.client.tags.delete(appid, tag_id)
