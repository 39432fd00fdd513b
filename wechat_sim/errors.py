"""WeChat error codes and the JSON error envelope (WECHAT_PROTOCOL.md sections 0 and 13).

Every API error is HTTP 200 with ``{"errcode": N, "errmsg": "<text> rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"}``,
as WeChat answers; success omits errcode or gives 0.
"""

from __future__ import annotations

import secrets

# errmsg texts as WeChat writes them (lowercase, terse); the rid suffix is added when answering.
MESSAGES: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40015: "invalid button type",
    40016: "invalid button size",
    40017: "invalid sub button size",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40023: "invalid sub button count",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40029: "invalid code",
    40030: "invalid refresh_token",
    40032: "invalid openid list size",
    40033: "invalid charset. please check your request, if include \\uxxxx will create fail!",
    40035: "invalid args",
    40037: "invalid template_id",
    40053: "invalid action info",
    40097: "invalid args",
    40125: "invalid appsecret",
    40129: "invalid scene",
    40163: "code been used",
    40164: "invalid ip, not in whitelist",
    40169: "invalid length for scene, or the data is not json string",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41009: "missing openid",
    41030: "invalid page",
    42001: "access_token expired",
    42002: "refresh_token expired",
    42003: "code expired",
    43002: "require POST method",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    44002: "empty post data",
    44004: "empty content",
    45002: "content size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    45056: "too many tags",
    45058: "can't modify sys tag",
    45059: "the user has too many tags",
    45028: "has no masssend quota",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    45072: "command field content is invalid",
    45080: "no interaction within 30s",
    45081: "already typing",
    45109: "this api has been unsupported",
    45157: "invalid tag name",
    45158: "tag name too long",
    45159: "invalid tag id",
    46003: "menu no exist",
    46004: "user not exist",
    47001: "data format error",
    47003: "argument invalid!",
    48001: "api unauthorized",
    48006: "forbid to clear quota because of reaching the limit",
    65303: "there is no selfmenu, please create selfmenu first",
    65304: "match rule empty",
    65305: "menu count limit",
    65320: "invalid matchrule, sex/country/province/city/language are no longer supported",
}


class WxError(Exception):
    """An API call answered with a WeChat errcode."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        text = MESSAGES.get(errcode, "error")
        self.errcode = errcode
        self.errmsg = f"{text} {detail}".strip() if detail else text
        super().__init__(f"{errcode} {self.errmsg}")


def new_rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def error_body(errcode: int, errmsg: str, rid: str | None = None) -> dict[str, object]:
    return {"errcode": errcode, "errmsg": f"{errmsg} rid: {rid or new_rid()}"}


OK: dict[str, object] = {"errcode": 0, "errmsg": "ok"}
