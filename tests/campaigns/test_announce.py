"""通知门店 over HTTP on both backends: a region's manager announces his regional campaign; the
console creates one automation send whose recipients are exactly the owners and staff bound to
the campaign's target stores (another region's store people and the opted-out excluded); a
concurrent double tap or a later click creates nothing more; another region's operator gets a
404; it is audited once; a worker sends the Chinese message through a recording channel (the
CampaignChannel port), once per recipient."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, update

from bot.app import create_app
from bot.automation import sending
from bot.automation.interface import Deps, Policy
from bot.automation.models import Campaign, CampaignRecipient
from bot.automation.quiet import QuietHours
from bot.automation.send_port import Outcome
from bot.console import org
from bot.console.feature import console_routes
from bot.console.models import AuditEntry
from bot.db import session_scope
from bot.handlers import notifications
from bot.membership.models import Member, MemberIdentity
from bot.ports import RecordingPushNotifier
from bot.wiring import Feature
from bot.wiring.features import CORE, ORDERING, REGIONAL
from bot.wiring.runtime import text_environment
from tests.campaigns.conftest import Shop, bot_settings, start_core
from tests.campaigns.test_campaigns import _setup
from tests.campaigns.test_console_pages import _as
from tests.conftest import OA_APPID
from tests.console.clock import FakeClock
from tests.console.console_app import ConsoleApp


class RecordingChannel:
    """The campaign port, recording what would leave (member, openid, text)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, str]] = []

    async def open(self, campaign_id: int, *, fresh: bool) -> None:
        return None

    async def fence(self, campaign_id: int, member_ids: Sequence[int], token: str) -> list[str] | None:
        return ["" for _ in member_ids]

    async def forget(self, campaign_id: int, member_ids: Sequence[int]) -> None:
        return None

    async def note(self, campaign_id: int, token: str, done: tuple[int, str]) -> None:
        return None

    async def send(self, campaign_id, token, member_id, appid, openid, text, done) -> Outcome:  # type: ignore[no-untyped-def]
        self.sent.append((member_id, openid, text))
        return Outcome("sent")


async def _world(make_settings, aiohttp_client, core_db):  # type: ignore[no-untyped-def]
    core = await start_core(core_db, tick=0.2)
    clock = FakeClock.real_now()
    app = create_app(
        bot_settings(make_settings, core.url, automation_holdout=0),
        notifier=RecordingPushNotifier(),
        routers=[notifications.router],
        features=[CORE, REGIONAL, ORDERING, Feature("console", routes=console_routes(clock=clock))],
        background=False,
    )
    client = await aiohttp_client(app)
    shop = Shop(client, app, core, RecordingPushNotifier())
    console = ConsoleApp(client, app, clock)
    regions = list(await shop.api.org.regions())
    async with session_scope(shop.services.sessions) as session:
        specs = [org.NodeSpec("region", r.id, r.code, r.name, f"/r{r.id}/", None) for r in regions]
        await org.apply_tree(session, console.tenant_id, specs, now=clock())
    return shop, console, core


async def test_announce_sends_once_to_the_target_stores_people(
    make_settings, aiohttp_client, core_db
) -> None:
    shop, console, core = await _world(make_settings, aiohttp_client, core_db)
    try:
        sku, stores = await _setup(shop, stores=20)
        here = stores[0]
        elsewhere = next(s for s in stores if s.region_id != here.region_id)
        # 0 owner here, 1 owner elsewhere, 2 staff here, 3 staff elsewhere, 4 staff here (opted out)
        people = await shop.buyers(5, [here, elsewhere])
        ids = [b.member_id for b in people]
        sessions = shop.services.sessions
        async with session_scope(sessions) as session:
            await session.execute(update(MemberIdentity).values(following=True))
            await session.execute(update(Member).where(Member.id == ids[4]).values(push_opt_out=True))
        campaign = await shop.promotion(
            "flash_sale",
            {"sku": sku, "price_fen": 1250},
            name="东区秒杀",
            stock=30,
            per_store_limit=3,
            audience={"region_ids": [here.region_id]},
        )
        await console.operator("east", "region_manager", "region", here.region_id)
        await console.operator("west", "region_manager", "region", elsewhere.region_id)

        # another region's manager: the campaign does not exist for him, nothing is created
        csrf = await _as(console, "west")
        refused = await console.client.post(f"/console/campaigns/{campaign}/announce", data={"_csrf": csrf})
        assert refused.status == 404

        csrf = await _as(console, "east")
        page = await (await console.client.get("/console/campaigns")).text()
        assert f'data-testid="announce-{campaign}"' in page and "通知门店" in page

        def click():  # type: ignore[no-untyped-def]
            return console.client.post(
                f"/console/campaigns/{campaign}/announce", data={"_csrf": csrf}, allow_redirects=False
            )

        clicks = list(await asyncio.gather(click(), click()))  # a double tap, really concurrent
        clicks.append(await click())  # and a second click later
        assert [c.status for c in clicks] == [303, 303, 303]
        assert len({c.headers["Location"] for c in clicks}) == 1
        assert clicks[0].headers["Location"].startswith("/console/campaign-sends?announced=")
        async with session_scope(sessions) as session:
            sends = list((await session.execute(select(Campaign))).scalars())
            recipients = {
                r.member_id: r.openid for r in (await session.execute(select(CampaignRecipient))).scalars()
            }
            audited = (
                await session.execute(
                    select(func.count())
                    .select_from(AuditEntry)
                    .where(AuditEntry.action == "campaign.announce")
                )
            ).scalar_one()
        assert len(sends) == 1 and audited == 1
        assert set(recipients) == {ids[0], ids[2]}  # here's owner and staff; not elsewhere, not opted out
        text = sends[0].text
        assert "东区秒杀" in text and "12.50元" in text and "回复「活动」" in text and "截止时间" in text
        progress = await (await console.client.get(clicks[0].headers["Location"])).text()
        assert sends[0].name in progress and 'data-testid="announced"' in progress

        # a worker sends it through the channel port, once per recipient
        channel = RecordingChannel()
        deps = Deps(
            sessions=sessions,
            texts=text_environment(),
            notifier=shop.services.notifier,
            coupons=None,
            oa_appids=lambda: [OA_APPID],
            policy=Policy(holdout=0, quiet=QuietHours.parse(""), cap=5, cap_days=7),
        )
        tenant = console.tenant_id
        done = await sending.run_worker(deps, channel, tenant, sends[0].id, now=lambda: datetime.now(UTC))
        assert done == 2
        assert sorted((m, o) for m, o, _t in channel.sent) == sorted(recipients.items())
        assert all(t == text for _m, _o, t in channel.sent)
        again = await sending.run_worker(deps, channel, tenant, sends[0].id, now=lambda: datetime.now(UTC))
        assert again == 0 and len(channel.sent) == 2
    finally:
        await shop.close()
        await core.runner.cleanup()
