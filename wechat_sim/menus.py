"""Custom menus and conditional menus (WECHAT_PROTOCOL.md section 9)."""

from __future__ import annotations

from typing import Any

from wechat_sim.errors import WxError
from wechat_sim.host import SimHost
from wechat_sim.model import Member

BUTTON_TYPES = {
    "click",
    "view",
    "miniprogram",
    "scancode_push",
    "scancode_waitmsg",
    "pic_sysphoto",
    "pic_photo_or_album",
    "pic_weixin",
    "location_select",
    "media_id",
    "view_limited",
    "article_id",
    "article_view_limited",
}
NEEDS_KEY = {"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album", "pic_weixin",
             "location_select"}  # fmt: skip


def _nbytes(value: Any) -> int:
    return len(str(value).encode())


def _check_button(button: Any, sub: bool) -> None:
    # errcodes: top-level / sub-button variants
    name_err, type_err, key_err, url_err = (
        (40025, 40024, 40026, 40027) if sub else (40018, 40015, 40019, 40020)
    )
    if not isinstance(button, dict):
        raise WxError(47001)
    name = button.get("name")
    if not isinstance(name, str) or not name or _nbytes(name) > (60 if sub else 16):
        raise WxError(name_err)
    children = button.get("sub_button")
    if children and not sub:
        if not isinstance(children, list) or not 1 <= len(children) <= 5:
            raise WxError(40023)
        for child in children:
            _check_button(child, sub=True)
        return
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        raise WxError(type_err)
    if kind in NEEDS_KEY and (not button.get("key") or _nbytes(button["key"]) > 128):
        raise WxError(key_err)
    if kind == "view" and (not button.get("url") or _nbytes(button["url"]) > 1024):
        raise WxError(url_err)
    if kind == "miniprogram" and not (button.get("appid") and button.get("pagepath") and button.get("url")):
        raise WxError(url_err)


def check_buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    buttons = body.get("button")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise WxError(40016)
    for button in buttons:
        _check_button(button, sub=False)
    return buttons


class Menus(SimHost):
    """Mixed into :class:`wechat_sim.simulator.Simulator`."""

    def menu_create(self, appid: str, body: dict[str, Any]) -> None:
        rt = self.runtime(appid)
        rt.menu = {"button": check_buttons(body), "menuid": rt.next_menu_id}
        rt.next_menu_id += 1
        self.touch()

    def menu_get(self, appid: str) -> dict[str, Any]:
        rt = self.runtime(appid)
        if rt.menu is None:
            raise WxError(46003)
        answer: dict[str, Any] = {"menu": rt.menu}
        if rt.conditional_menus:
            answer["conditionalmenu"] = rt.conditional_menus
        return answer

    def menu_delete(self, appid: str) -> None:
        rt = self.runtime(appid)
        rt.menu = None
        rt.conditional_menus = []  # deleting the menu also deletes the conditional menus
        self.touch()

    def menu_add_conditional(self, appid: str, body: dict[str, Any]) -> int:
        rt = self.runtime(appid)
        if rt.menu is None:
            raise WxError(65303)
        buttons = check_buttons(body)
        rule = body.get("matchrule")
        if not isinstance(rule, dict) or not any(rule.get(k) not in (None, "") for k in rule):
            raise WxError(65304)
        if set(rule) - {"tag_id", "client_platform_type"}:
            raise WxError(65320)  # sex/country/... are no longer accepted
        menuid = rt.next_menu_id
        rt.next_menu_id += 1
        rt.conditional_menus.append({"button": buttons, "matchrule": rule, "menuid": menuid})
        self.touch()
        return menuid

    def menu_del_conditional(self, appid: str, menuid: Any) -> None:
        rt = self.runtime(appid)
        kept = [m for m in rt.conditional_menus if str(m["menuid"]) != str(menuid)]
        if len(kept) == len(rt.conditional_menus):
            raise WxError(46003)
        rt.conditional_menus = kept
        self.touch()

    def menu_for(self, member: Member) -> dict[str, Any] | None:
        """The menu this user sees: the newest conditional menu whose tag they carry, else the
        default menu (client_platform_type is ignored: the simulated phone has no platform)."""
        rt = self.runtime(member.appid)
        for menu in reversed(rt.conditional_menus):
            tag = menu["matchrule"].get("tag_id")
            if tag not in (None, "") and int(tag) in member.tagids:
                return menu
        return rt.menu

    def menu_button(self, member: Member, path: str) -> tuple[dict[str, Any], str]:
        """(button at "i" or "i.j", the conditional menu id or "")."""
        from wechat_sim.simulator import SimError

        menu = self.menu_for(member)
        try:
            indexes = [int(p) for p in path.split(".")]
            button = menu["button"][indexes[0]] if menu else None
            for i in indexes[1:]:
                button = button["sub_button"][i]  # type: ignore[index]
        except (ValueError, IndexError, KeyError, TypeError):
            button = None
        if not isinstance(button, dict) or button.get("sub_button"):
            raise SimError("no_button", f"no menu button at {path!r}")
        menuid = str(menu["menuid"]) if menu and "matchrule" in menu else ""
        return button, menuid
