"""The simulator's records. Plain dataclasses of JSON-friendly fields so that the whole state can
be written to and read from one JSON file (``wechat_sim.store``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = {"consumer": "消费者", "store_owner": "门店老板", "distributor": "经销商"}


@dataclass
class App:
    """An Official Account (kind ``oa``) or a mini-program (``mp``) as configured on WeChat's side."""

    appid: str
    secret: str
    token: str = "wxsimtoken"  # noqa: S105 - the callback Token, a public default
    aes_key: str = ""
    mode: str = "plain"  # plain | compat | safe
    callback_url: str = ""
    kind: str = "oa"
    name: str = ""
    original_id: str = ""  # gh_...; derived from the appid when empty
    group: str = ""  # open-platform account the app is bound to: the unionid scope ("" = unbound)
    ip_allowlist: list[str] = field(default_factory=list)  # empty = no allowlist
    oauth_domains: list[str] = field(default_factory=list)  # 网页授权域名; empty = any


@dataclass
class Tag:
    id: int
    name: str


@dataclass
class Template:
    template_id: str
    title: str
    content: str = ""  # "{{thing1.DATA}}\n{{time2.DATA}}" style keyword layout
    kind: str = "template"  # template (OA template message) | subscribe (subscription notification)


@dataclass
class AppRuntime:
    """What WeChat keeps per app besides its configuration."""

    token: str = ""  # the latest /cgi-bin/token token
    previous_token: str = ""  # the one still inside its grace period
    stable_token: str = ""
    force_refreshes: list[float] = field(default_factory=list)
    quota_day: int = 0
    quota_used: dict[str, int] = field(default_factory=dict)
    quota_clears: list[float] = field(default_factory=list)
    tags: dict[str, Tag] = field(default_factory=dict)
    next_tag_id: int = 100
    menu: dict[str, Any] | None = None
    conditional_menus: list[dict[str, Any]] = field(default_factory=list)
    next_menu_id: int = 400000000
    templates: dict[str, Template] = field(default_factory=dict)
    jsapi_ticket: str = ""
    jsapi_expires_at: float = 0.0
    mass_received: dict[str, int] = field(default_factory=dict)  # "openid|YYYY-MM" -> mass sends received
    mass_jobs: dict[str, int] = field(default_factory=dict)  # clientmsgid -> msg_id
    next_mass_id: int = 1000001


@dataclass
class TokenRecord:
    appid: str
    family: str  # token | stable
    issued_at: float
    expires_at: float
    dead_at: float | None = None  # superseded, force-refreshed or invalidated
    dead_code: int = 40001


@dataclass
class Person:
    """A simulated WeChat user. One person has an openid per app and a unionid per open platform."""

    id: str
    name: str
    role: str = "consumer"
    nickname: str = ""
    phone: str = ""
    created_at: float = 0.0
    unionids: dict[str, str] = field(default_factory=dict)


@dataclass
class Grant:
    """Customer-service messages allowed after one interaction (section 5)."""

    trigger: str  # message | follow | scan | click | enter_session
    opened_at: float
    expires_at: float
    limit: int
    used: int = 0


@dataclass
class Member:
    """A person as seen by one app."""

    appid: str
    person_id: str
    openid: str
    following: bool = False
    subscribe_time: int = 0
    subscribe_scene: str = ""
    qr_scene: int = 0
    qr_scene_str: str = ""
    unsubscribe_time: int = 0
    tagids: list[int] = field(default_factory=list)
    remark: str = ""
    grants: list[Grant] = field(default_factory=list)
    last_interaction: float = 0.0
    typing_until: float = 0.0
    credits: dict[str, int] = field(default_factory=dict)  # one-time subscribe credits per template
    blocks_templates: bool = False  # the user blocked this account's template messages


@dataclass
class QrTicket:
    ticket: str
    appid: str
    action_name: str
    code: str  # the payload is http://weixin.qq.com/q/<code>
    scene_id: int | None = None
    scene_str: str | None = None
    created_at: float = 0.0
    expires_at: float | None = None  # None = permanent
    sim_issued: bool = False  # created by the simulator for a typed scene, not by the app

    @property
    def url(self) -> str:
        return f"http://weixin.qq.com/q/{self.code}"

    @property
    def scene(self) -> str:
        return str(self.scene_id) if self.scene_id is not None else str(self.scene_str)


@dataclass
class Code:
    """A short-lived single-use code: wx.login, getPhoneNumber, web OAuth."""

    code: str
    kind: str  # jscode | phone | oauth
    appid: str
    person_id: str
    issued_at: float
    expires_at: float
    used_at: float | None = None
    scope: str = ""


@dataclass
class SnsToken:
    """A web-OAuth user access_token (not the API token)."""

    appid: str
    person_id: str
    scope: str
    expires_at: float
    refresh_token: str = ""
    refresh_expires_at: float = 0.0


@dataclass
class Entry:
    """One line of a user's conversation with an app, in order."""

    seq: int
    at: float
    appid: str
    person_id: str
    direction: str  # in (user -> app) | out (app -> user) | system
    kind: str  # text | event | reply | push | error | note
    channel: str = ""  # passive | kf | template | bizsend | subscribe | typing
    payload: dict[str, Any] = field(default_factory=dict)
    errcode: int | None = None
    error: str | None = None


@dataclass
class Outbound:
    """Every message an app sent through the API, delivered or not."""

    id: int
    at: float
    appid: str
    openid: str
    person_id: str
    channel: str  # kf | typing | template | bizsend | subscribe | mass
    msgtype: str
    payload: dict[str, Any]
    errcode: int
    errmsg: str = "ok"
    msgid: int | None = None


@dataclass
class Wxacode:
    id: str
    appid: str
    scene: str
    page: str
    env_version: str
    created_at: float
