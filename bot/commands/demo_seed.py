"""What ``jiubot demo`` prepares once it listens, so every persona has something to do:

* the simulator's people, the console's HQ operator, the menu and the demo store's binding QR
  (``after_start``);

* a product batch of bottle codes (a sales region, a points rule for the SKU, the batch, all of
  it activated as shipped to the demo store) and a few scannable code URLs;
* the demo store's coupon QR (店内扫码领券) for the consumers' campaign of the core;
* 王经理 as staff of the demo store's distributor (his stores and their orders in chat);
* four weeks of made-up behaviour events and last week's 私域运营报告 (its link is printed).

Everything goes through the same domain functions as the operator commands (``jiubot codes
...``), on the demo's own address. Idempotent across runs: the batch is found again by its note
(one demo per data folder holds the lock, so nothing races it), the region and rule are upserts,
the role assignment is a plain update.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.services import Services

BATCH_NOTE = "jiubot demo"
REGION_CODE = "DEMO-SW"
BATCH_SIZE = 200
SHOWN_CODES = 3
SCAN_POINTS = 20


@dataclass(frozen=True)
class Materials:
    product: str = ""
    batch_id: int = 0
    code_urls: tuple[str, ...] = ()
    store_coupon_url: str = ""
    store_coupon_name: str = ""
    distributor: str = ""


async def seed_materials(
    services: Services, appid: str, store_code: str | None, distributor_openid: str
) -> Materials:
    runtime = services.membership
    app = await services.registry.get(appid)
    core = await services.cores.client(app.tenant_id) if app is not None else None
    if runtime is None or core is None or app is None:
        return Materials()
    tenant_id = app.tenant_id
    try:
        store = await _core_store(core, store_code) if store_code else None
        product_sku, product_name, batch_id, urls = await _bottle_codes(
            services, runtime, core, tenant_id, store.code if store else None
        )
        coupon_url, coupon_name = await _store_coupon(runtime, core, tenant_id, store.code if store else None)
        distributor = await _distributor(services, core, tenant_id, appid, distributor_openid, store)
        await _activity(services, tenant_id, store.code if store else None)
    except Exception as exc:  # the demo still runs; the banner says what is missing
        print(f"[demo] could not prepare the demo materials: {type(exc).__name__}: {exc}", file=sys.stderr)
        return Materials()
    try:  # the content demo is optional: the other materials stand without it
        await _content(services, tenant_id, product_sku)
    except Exception as exc:
        print(f"[demo] could not prepare the demo content: {type(exc).__name__}: {exc}", file=sys.stderr)
    return Materials(f"{product_name}（{product_sku}）", batch_id, urls, coupon_url, coupon_name, distributor)


async def _content(services: Services, tenant_id: int, sku: str) -> None:
    """A published article for 王经理 to forward (「素材」 in chat) and a livestream (「直播」)."""
    from bot.content.demo import seed_demo_content

    if services.content is not None:
        await seed_demo_content(services.sessions, tenant_id, sku)


async def _core_store(core: Any, code: str) -> Any | None:
    page = await core.org.stores(q=code, limit=20)
    return next((s for s in page.items if s.code == code), None)


async def _bottle_codes(
    services: Services, runtime: Any, core: Any, tenant_id: int, store_code: str | None
) -> tuple[str, str, int, tuple[str, ...]]:
    from bot.db import session_scope
    from bot.membership import batches, regions, rules
    from bot.membership.codes import make

    found = await core.catalog.search("飞天", limit=1)
    product = found.items[0] if found.items else (await core.catalog.search(limit=1)).items[0]
    async with session_scope(services.sessions) as session:
        await regions.define_region(
            session, tenant_id, REGION_CODE, "西南大区", provinces=["四川", "重庆", "贵州", "云南"], cities=[]
        )
        await rules.set_rule(session, tenant_id, product.sku, scan_points=SCAN_POINTS)
        batch = next(
            (b for b in await batches.list_batches(session, tenant_id) if b.sku == product.sku),
            None,
        )
        if batch is None:
            batch = await batches.create_batch(
                session,
                tenant_id,
                brand=product.brand or "示例酒业",
                sku=product.sku,
                product_name=product.name,
                size=BATCH_SIZE,
                region_code=REGION_CODE,
                note=BATCH_NOTE,
            )
            await batches.mark_range(
                session, tenant_id, batch.id, 1, batch.size, "activate", store_code=store_code
            )
    urls = tuple(
        runtime.code_url(make(runtime.keys, tenant_id, batch.id, serial))
        for serial in range(1, SHOWN_CODES + 1)
    )
    return product.sku, product.name, batch.id, urls


async def _store_coupon(runtime: Any, core: Any, tenant_id: int, store_code: str | None) -> tuple[str, str]:
    from bot.membership.coupons import store_claim_path

    if store_code is None:
        return "", ""
    page = await core.coupons.campaigns(audience="consumers", status="active", limit=5)
    if not page.items:
        return "", ""
    campaign = page.items[0]
    path = store_claim_path(runtime.referral_secret, tenant_id, str(campaign.id), store_code)
    return runtime.base_url + path, campaign.name


async def _distributor(
    services: Services, core: Any, tenant_id: int, appid: str, openid: str, store: Any | None
) -> str:
    """王经理 works for the demo store's distributor: his stores include the one 张老板 binds."""
    from bot.db import session_scope
    from bot.membership import actions as members

    if store is None:
        return ""
    distributor = next((d for d in await core.org.distributors() if d.id == store.distributor_id), None)
    if distributor is None:
        return ""
    async with session_scope(services.sessions) as session:
        member_id = await members.ensure_member(session, tenant_id, appid, openid)
        await members.assign_role(session, member_id, "distributor_staff", distributor_code=distributor.code)
    return f"{distributor.name}（{distributor.code}）"


async def _activity(services: Services, tenant_id: int, store_code: str | None) -> None:
    """Four weeks of made-up behaviour and last week's 私域运营报告 (bot/analytics/demo_activity.py)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from bot.analytics.demo_activity import seed_activity
    from bot.db import session_scope
    from bot.membership.models import Store

    if services.analytics is None:
        return
    async with session_scope(services.sessions) as session:
        store_id = (
            await session.scalar(
                select(Store.id).where(Store.tenant_id == tenant_id, Store.code == store_code)
            )
            if store_code
            else None
        )
    await seed_activity(
        services.sessions,
        tenant_id,
        store_id=store_id,
        region=REGION_CODE,
        archive_dir=services.analytics.archive,
        now=datetime.now(UTC),
    )
    print(
        # pushed links are signed for their recipient and need his WeChat sign-in; the console
        # shows every archived report to an operator whose scope covers it
        f"[demo] weekly report: {services.settings.public_base_url.rstrip('/')}/console/reports",
        file=sys.stderr,
    )


# once it listens: people, the menu, the binding QR ----------------------------------------------
class TerminalSms:
    """The demo's SMS gateway: the message still goes to the development outbox, arrives on the
    simulated phone of whoever has that number (a notification in the console), and is printed
    here too."""

    def __init__(self, inner: Any, sim: Any = None, brand: str = "") -> None:
        self.inner = inner
        self.sim = sim
        self.brand = brand

    async def send(
        self,
        phone: str,
        text: str,
        *,
        purpose: str,
        params: Mapping[str, str] | None = None,
        client_ip: str | None = None,
    ) -> None:
        from wechat_sim.phone import send_sms

        await self.inner.send(phone, text, purpose=purpose, params=params, client_ip=client_ip)
        if self.sim is not None:
            send_sms(self.sim, phone, text, self.brand)
        print(f"[demo] 短信 -> {phone}: {text}", flush=True)


async def after_start(
    services: Services, sim: Any, people: list[Any], store_code: str | None, *, oa: str, mp: str, brand: str
) -> str | None:
    """Work that needs the server listening: the simulator's people, the menu and a binding QR
    for the demo store owner. Returns the binding scene."""
    for person in people:
        sim.ensure_person(person.person_id, person.name, person.role, phone=person.phone)
    await _demo_operator(services, oa)
    ordering = services.ordering
    if ordering is not None:
        ordering.sms = TerminalSms(ordering.sms, sim, brand)
    client = services.wechat
    if client is None:
        return None
    try:
        from bot.ordering.menu import build_menu

        values = {"public_base_url": services.settings.public_base_url, "order_mp_appid": mp}
        await client.menu.create(oa, build_menu(values))
    except Exception as exc:  # the demo still runs; the console shows no menu
        print(f"[demo] could not publish the menu: {exc}", file=sys.stderr)
    app = await services.registry.get(oa)
    core = await services.cores.client(app.tenant_id) if app is not None else None
    if store_code is None or core is None:
        return None
    try:
        from bot.commands.menu import Context, make_binding_qr

        ctx = Context(
            services.settings,
            services.sessions,
            services.redis,
            services.keys,
            client,
            core,
            app.tenant_id if app else 0,
        )
        _, scene, _ = await make_binding_qr(ctx, oa, store_code, 30, "demo")
        return scene
    except Exception as exc:  # the demo still runs; binding needs `jiubot store qr`
        print(f"[demo] could not make the store binding QR: {exc}", file=sys.stderr)
        return None


async def _demo_operator(services: Services, oa: str) -> None:
    from bot.commands.demo_banner import DEMO_OPERATOR
    from bot.console import accounts
    from bot.db import session_scope

    app = await services.registry.get(oa)
    if app is None:
        return
    async with session_scope(services.sessions) as session:
        await accounts.ensure(
            session,
            app.tenant_id,
            username=DEMO_OPERATOR[0],
            password=DEMO_OPERATOR[1],
            role="hq_admin",
            display_name="演示管理员",
        )
