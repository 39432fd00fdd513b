"""``openapi.yaml`` documents exactly the mini-program routes jiubot serves (method + path, both
directions), each once, and exactly the error codes the code has, each with a status and a
Chinese message."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

import bot.miniapp
from bot.app import create_app
from bot.miniapp.errors import STATUS, ErrorCode
from bot.miniapp.texts import MESSAGES
from bot.wiring.features import FEATURES

SPEC = yaml.safe_load((Path(bot.miniapp.__file__).parent / "openapi.yaml").read_text(encoding="utf-8"))
DOCUMENTED = Counter((method.upper(), path) for path, ops in SPEC["paths"].items() for method in ops)


def served(app) -> Counter:  # type: ignore[no-untyped-def]
    return Counter(
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/mp/api/")
        and route.method != "HEAD"  # aiohttp's automatic HEAD of every GET
    )


def test_served_routes_are_the_documented_routes_each_once(make_settings):
    app = create_app(make_settings(), features=FEATURES, background=False)
    routes = served(app)
    assert set(routes) == set(DOCUMENTED), {
        "served, not documented": sorted(set(routes) - set(DOCUMENTED)),
        "documented, not served": sorted(set(DOCUMENTED) - set(routes)),
    }
    assert [r for r, n in routes.items() if n > 1] == []
    assert len(routes) == 40


def test_no_feature_composed_alone_serves_another_ones_endpoints(make_settings):
    """Each endpoint is added by exactly one feature: the groups are disjoint and cover them all."""
    groups = [served(create_app(make_settings(), features=[f], background=False)) for f in FEATURES]
    union = Counter()
    for group in groups:
        union.update(group)
    assert union == Counter(dict.fromkeys(DOCUMENTED, 1))


def test_every_operation_documents_its_errors_with_the_one_error_shape():
    error = {"$ref": "#/components/responses/Error"}
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            failures = {code: r for code, r in op["responses"].items() if not code.startswith("2")}
            assert failures and all(r == error for r in failures.values()), where
            if op.get("security"):
                assert "401" in failures, where
            if op.get("requestBody") or any(p["in"] == "query" for p in op.get("parameters", [])):
                assert "400" in failures, where


def test_every_error_code_is_documented_has_a_status_and_a_chinese_message():
    documented = set(SPEC["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    assert documented == {code.value for code in ErrorCode}
    assert set(STATUS) == set(MESSAGES) == set(ErrorCode)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in MESSAGES.values())
    description = SPEC["components"]["schemas"]["Error"]["properties"]["error"]["description"]
    for code, status in STATUS.items():  # the description lists each code under its status
        section = description.split(f"{status} ", 1)[1]
        assert code.value in section.split(";")[0], (code, status)
