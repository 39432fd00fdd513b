"""``jiubot campaign`` and ``jiubot storefront`` act as an operator member under the regional
policy: a region's operator creates for his region only, another region's campaign is unknown
to him, and the same request key never creates twice."""

from __future__ import annotations

import argparse

import orjson

from bot.commands import regional as cli
from bot.db import session_scope
from bot.membership.actions import assign_role, ensure_member
from tests.campaigns.conftest import bot_settings
from tests.campaigns.test_campaigns import _setup
from tests.campaigns.test_regional import _flash
from tests.conftest import OA_APPID


async def _operator(shop, openid: str, region: str | None) -> int:  # type: ignore[no-untyped-def]
    async with session_scope(shop.services.sessions) as session:
        member = await ensure_member(session, await shop.tenant_id(), OA_APPID, openid)
        await assign_role(session, member, "operator", region_code=region)
    return member


async def test_campaign_and_storefront_commands(shop_factory, core_db, make_settings, capsys) -> None:
    shop = await shop_factory(core_db)
    sku, stores = await _setup(shop, stores=20)
    regions = {r.id: r.code for r in await shop.api.org.regions()}
    mine, other = (
        regions[stores[0].region_id],
        next(c for i, c in regions.items() if i != stores[0].region_id),
    )
    east = await _operator(shop, "o_cli_east", mine)
    west = await _operator(shop, "o_cli_west", other)
    settings = bot_settings(make_settings, shop.core.url)
    definition = _flash(sku, "命令行秒杀")

    def args(command: str, action: str, **values: object) -> argparse.Namespace:
        return argparse.Namespace(command=command, action=action, **values)

    create = args("campaign", "create", operator=east, key="cli-key-1", region=None, file="x")
    assert await cli._main(create, settings, definition) == 0
    created = orjson.loads(capsys.readouterr().out)
    assert created["region_codes"] == [mine]
    assert await cli._main(create, settings, definition) == 0  # the same key: the same campaign
    assert orjson.loads(capsys.readouterr().out)["campaign"]["id"] == created["campaign"]["id"]
    refused = args("campaign", "create", operator=east, key="cli-key-2", region=other, file="x")
    assert await cli._main(refused, settings, definition) == 1
    assert "other_region" in capsys.readouterr().err
    assert (
        await cli._main(
            args("campaign", "stop", operator=west, campaign_id=created["campaign"]["id"]), settings, None
        )
        == 1
    )
    assert "not_found" in capsys.readouterr().err
    assert (await shop.api.promotions.get(created["campaign"]["id"])).status == "active"
    layout = {"shortcuts": [{"label": "订货", "path": "pages/order/index"}]}
    publish = args("storefront", "publish", operator=east, region=mine, file="x")
    assert await cli._main(publish, settings, layout) == 0
    assert orjson.loads(capsys.readouterr().out)["version"] == 1
    assert await cli._main(args("storefront", "show", operator=west, region=mine), settings, None) == 1
    assert "other_region" in capsys.readouterr().err
    # a member who is no operator is refused
    (buyer,) = await shop.buyers(1, stores[:1])
    assert await cli._main(args("campaign", "list", operator=buyer.member_id), settings, None) == 1
    assert "not_an_operator" in capsys.readouterr().err
