"""The Official Account menu: 订货 (click ORDER), 我的订单 (click MY_ORDERS), 会员中心 (a sub-menu:
member centre, bottle-code scan, the mini-program when one is configured).

The layout lives in ``menu.yaml`` beside this module (names are what followers read); this
module fills in settings, drops items whose ``when`` setting is empty, and checks WeChat's
limits before anything is sent (WECHAT_PROTOCOL.md 9: 1-3 buttons of at most 16 bytes, 1-5
sub-buttons of at most 60 bytes, keys of at most 128 bytes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.ordering.errors import OrderingError

MENU_PATH = Path(__file__).with_name("menu.yaml")
ORDER = "ORDER"
MY_ORDERS = "MY_ORDERS"
MEMBER_CENTER = "MEMBER_CENTER"
_KINDS = {
    "click": ("key",),
    "view": ("url",),
    "miniprogram": ("appid", "pagepath", "url"),
    "scancode_push": ("key",),
    "scancode_waitmsg": ("key",),
    "location_select": ("key",),
}


class MenuInvalid(OrderingError):
    """The menu file breaks one of WeChat's rules (``problems`` says which)."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.problems = problems


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, setting in values.items():
            value = value.replace("{" + name + "}", setting)
        return value
    return value


def _button(raw: Any, values: dict[str, str], *, sub: bool, problems: list[str]) -> dict | None:
    if not isinstance(raw, dict):
        problems.append(f"a button must be a mapping, not {raw!r}"[:120])
        return None
    when = raw.get("when")
    if when and not values.get(str(when)):
        return None
    name = str(raw.get("name", ""))
    limit = 60 if sub else 16
    if not name or len(name.encode()) > limit:
        problems.append(f"button {name!r}: the name must be 1-{limit} bytes")
    out: dict[str, Any] = {"name": name}
    if "sub_button" in raw:
        listed = raw["sub_button"] if isinstance(raw["sub_button"], list) else []
        subs = [b for b in (_button(s, values, sub=True, problems=problems) for s in listed) if b]
        if not 1 <= len(subs) <= 5:
            problems.append(f"menu {name!r}: 1-5 sub-buttons")
        out["sub_button"] = subs
        return out
    kind = str(raw.get("type", ""))
    if kind not in _KINDS:
        problems.append(f"button {name!r}: unsupported type {kind!r}")
        return out
    out["type"] = kind
    for field in _KINDS[kind]:
        value = _fill(raw.get(field, ""), values)
        if not value:
            problems.append(f"button {name!r}: {field} is required for {kind}")
        out[field] = value
    if len(str(out.get("key", "")).encode()) > 128:
        problems.append(f"button {name!r}: the key is longer than 128 bytes")
    return out


def build_menu(values: dict[str, str], path: Path = MENU_PATH) -> list[dict[str, Any]]:
    """The ``button`` list for ``/cgi-bin/menu/create``; raises MenuInvalid."""
    return build_menu_text(path.read_text(encoding="utf-8"), values, source=str(path))


def default_layout(path: Path = MENU_PATH) -> str:
    """The shipped layout (the console's menu editor starts from it)."""
    return path.read_text(encoding="utf-8")


def build_menu_text(text: str, values: dict[str, str], *, source: str = "menu") -> list[dict[str, Any]]:
    """``build_menu`` of a layout given as YAML text (the console's editor); raises MenuInvalid."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MenuInvalid(source, [f"not valid YAML: {str(exc).splitlines()[0]}"]) from None
    problems: list[str] = []
    raw = data.get("button") if isinstance(data, dict) else None
    if not isinstance(raw, list):
        raise MenuInvalid(source, ["expected a mapping with a 'button' list"])
    buttons = [b for b in (_button(r, values, sub=False, problems=problems) for r in raw) if b]
    if not 1 <= len(buttons) <= 3:
        problems.append("the menu has 1-3 top-level buttons")
    if problems:
        raise MenuInvalid(source, problems)
    return buttons


def settings_values(settings: Any) -> dict[str, str]:
    return {
        "order_mp_appid": settings.order_mp_appid,
        "public_base_url": settings.public_base_url,
        "order_url": settings.order_url,
    }
