"""The OpenAPI fragment documents exactly the routes and error codes the code has."""

from __future__ import annotations

from pathlib import Path

import yaml

import bot.miniapp
from bot.miniapp.errors import STATUS, ErrorCode
from bot.miniapp.ordering import routes as ordering_routes
from bot.miniapp.promotions import routes as promotion_routes
from bot.miniapp.routes import routes
from bot.miniapp.texts import MESSAGES

SPEC = yaml.safe_load((Path(bot.miniapp.__file__).parent / "openapi.yaml").read_text(encoding="utf-8"))


def test_every_route_is_documented():
    served = {(r.method.lower(), r.path) for r in [*routes, *ordering_routes, *promotion_routes]}
    documented = {(method, path) for path, ops in SPEC["paths"].items() for method in ops}
    assert served == documented


def test_every_error_code_is_documented_has_a_status_and_a_chinese_message():
    documented = set(SPEC["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    assert documented == {code.value for code in ErrorCode}
    assert set(STATUS) == set(MESSAGES) == set(ErrorCode)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in MESSAGES.values())
