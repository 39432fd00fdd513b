"""Access tokens as WeChat issues them (WECHAT_PROTOCOL.md section 4).

* ``/cgi-bin/token`` issues a new token on every call; the token it replaces stays valid for the
  grace period (300 s), and the one before that dies at once (only "the old and the new" are valid).
* ``/cgi-bin/stable_token`` hands out the same token until it is close to expiry; ``force_refresh``
  kills the current token at once, at most 20 times a day and 30 s apart.
* The two families never invalidate each other.
"""

from __future__ import annotations

import secrets

from wechat_sim.clock import Clock, beijing_day
from wechat_sim.config import Limits
from wechat_sim.errors import WxError
from wechat_sim.model import AppRuntime, TokenRecord
from wechat_sim.store import Store

PRUNE_AFTER = 86400.0  # dead tokens are remembered a day, to answer 42001/40001 precisely


class TokenIssuer:
    def __init__(self, store: Store, clock: Clock, limits: Limits) -> None:
        self.store = store
        self.clock = clock
        self.limits = limits

    def _runtime(self, appid: str) -> AppRuntime:
        return self.store.runtime.setdefault(appid, AppRuntime())

    def _new(self, appid: str, family: str) -> str:
        now = self.clock.now()
        n = self.store.next("token")
        token = f"{n % 100}_" + secrets.token_urlsafe(96).replace("-", "_")
        self.store.tokens[token] = TokenRecord(appid, family, now, now + self.limits.token_ttl)
        self._prune(now)
        return token

    def _kill(self, token: str, at: float, code: int = 40001) -> None:
        record = self.store.tokens.get(token)
        if record is not None and (record.dead_at is None or record.dead_at > at):
            record.dead_at = at
            record.dead_code = code

    def _prune(self, now: float) -> None:
        if len(self.store.tokens) < 256:
            return
        for token, record in list(self.store.tokens.items()):
            end = min(record.expires_at, record.dead_at if record.dead_at is not None else record.expires_at)
            if end + PRUNE_AFTER < now:
                del self.store.tokens[token]

    # the two families ------------------------------------------------------------------------
    def issue(self, appid: str) -> tuple[str, int]:
        now = self.clock.now()
        rt = self._runtime(appid)
        if rt.previous_token:
            self._kill(rt.previous_token, now)
        if rt.token:
            self._kill(rt.token, now + self.limits.token_grace)
        rt.previous_token, rt.token = rt.token, self._new(appid, "token")
        return rt.token, self.limits.token_ttl

    def stable(self, appid: str, force: bool) -> tuple[str, int]:
        now = self.clock.now()
        rt = self._runtime(appid)
        current = self.store.tokens.get(rt.stable_token)
        if force:
            today = [t for t in rt.force_refreshes if beijing_day(t) == beijing_day(now)]
            if len(today) >= self.limits.stable_force_per_day:
                raise WxError(45009)
            if today and now - max(today) < self.limits.stable_force_spacing:
                raise WxError(45011)
            rt.force_refreshes = [*today, now]
            self._kill(rt.stable_token, now)
        elif current is not None and self._alive(current, now):
            remaining = current.expires_at - now
            if remaining > self.limits.stable_renew_before:
                return rt.stable_token, int(remaining)
        # renewal near expiry: the old stable token keeps its own expiry
        rt.stable_token = self._new(appid, "stable")
        return rt.stable_token, self.limits.token_ttl

    # checking --------------------------------------------------------------------------------
    @staticmethod
    def _alive(record: TokenRecord, now: float) -> bool:
        return now < record.expires_at and (record.dead_at is None or now < record.dead_at)

    def appid_of(self, token: str | None) -> str | None:
        """The app a token belongs to, valid or not (for routing faults and logs)."""
        record = self.store.tokens.get(token or "")
        return record.appid if record else None

    def check(self, token: str | None) -> str:
        """The appid of a valid token, or the errcode WeChat gives."""
        if not token:
            raise WxError(41001)
        record = self.store.tokens.get(token)
        if record is None:
            raise WxError(40001)
        now = self.clock.now()
        if record.dead_at is not None and now >= record.dead_at and record.dead_at < record.expires_at:
            raise WxError(record.dead_code)
        if now >= record.expires_at:
            raise WxError(42001)
        return record.appid

    def invalidate(self, appid: str, family: str | None = None, errcode: int = 40001) -> int:
        """Fault injection: every live token of the app dies now; returns how many."""
        now = self.clock.now()
        killed = 0
        for token, record in self.store.tokens.items():
            mine = record.appid == appid and (family is None or record.family == family)
            if mine and self._alive(record, now):
                self._kill(token, now, errcode)
                killed += 1
        return killed
