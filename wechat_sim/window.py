"""The customer-service window (WECHAT_PROTOCOL.md section 5).

Each interaction opens a grant for its trigger: a user message allows 5 messages in 48 hours, a
follow, scan or menu click 3 in one minute (configurable). A newer interaction of the same trigger
replaces its grant with a fresh count. A send consumes from the open grant that expires first.
No open grant, or an unfollowed user: 45015. Open grants all used up: 45047.
"""

from __future__ import annotations

from wechat_sim.errors import WxError
from wechat_sim.model import Grant, Member

# which user actions open which grant
EVENT_TRIGGERS = {
    "subscribe": "follow",
    "SCAN": "scan",
    "CLICK": "click",
    "scancode_push": "click",
    "scancode_waitmsg": "click",
    "user_enter_tempsession": "enter_session",
}
MESSAGE_TYPES = {"text", "image", "voice", "video", "shortvideo", "location", "link", "miniprogrampage"}


def trigger_of(fields: dict) -> str | None:
    msg_type = fields.get("MsgType")
    if msg_type in MESSAGE_TYPES:
        return "message"
    if msg_type == "event":
        return EVENT_TRIGGERS.get(str(fields.get("Event")))
    return None


def open_grant(member: Member, trigger: str, now: float, rules: dict[str, tuple[int, float]]) -> None:
    if trigger not in rules:
        return
    limit, seconds = rules[trigger]
    member.grants = [g for g in member.grants if g.trigger != trigger and g.expires_at > now]
    member.grants.append(Grant(trigger, now, now + seconds, limit))


def take(member: Member, now: float) -> Grant:
    open_grants = sorted((g for g in member.grants if g.expires_at > now), key=lambda g: g.expires_at)
    if not open_grants:
        raise WxError(45015)
    for grant in open_grants:
        if grant.used < grant.limit:
            grant.used += 1
            return grant
    raise WxError(45047)


def remaining(member: Member, now: float) -> dict[str, dict[str, float]]:
    """Per trigger: messages left and seconds left (for the console and tests)."""
    return {
        g.trigger: {"left": g.limit - g.used, "seconds": round(g.expires_at - now, 1)}
        for g in member.grants
        if g.expires_at > now
    }
