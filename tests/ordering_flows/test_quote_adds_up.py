"""Issue 11 item 3: the quote a store owner reads adds up to the fen.

Regression: "2箱（24瓶），1,777.00元/瓶，小计41,794.00元" showed the bottle price beside a subtotal made
with the case price. Property: for random carts of cases, packs (提) and bottles, at random stores,
with every promotion kind of the reference core live (满减 stackable and not, 满赠, discount, flash
sale, auction, group order), the quote as the chat renders it (the real core over HTTP, the bot's
quote view, the real template) shows on every line unit prices whose products add up to the shown
subtotal, and the subtotals, the promotions and the total reconcile exactly.

The core prices a group order only when the group closes (a quote of a group line is refused with
``join_required`` and priced at list), so the group kind is exercised as the core quotes it.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend_client import CoreClient, LineRequest
from bot.ordering import checkout as co
from bot.ordering.cart import merge
from bot.ordering.cart_edits import cart_line
from bot.ordering.core_catalog import entry_from_product
from bot.ordering.interface import ParsedLine, Unit
from bot.ordering.views import Cart, PricedLine
from bot.wiring.runtime import text_environment
from tests.ordering_flows.conftest import CORE_KEY, start_core

T = TypeVar("T")
STORES = (1, 2, 3, 4, 5, 6)  # seeded stores: several regions and tiers, so several price lists
CHANNELS = ("flash_sale", "auction", "group_buy")


class CoreInAThread:
    """The reference core serving on a real port from its own event loop, so that a synchronous
    hypothesis test can quote against it example after example."""

    def __init__(self, db: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = self.run(start_core(db))
        self.session: aiohttp.ClientSession = self.run(self._session())
        self.client = CoreClient(self.session, self.server.url, CORE_KEY)

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def close(self) -> None:
        self.run(self.session.close())
        self.run(self.server.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class Entries:
    """The part of the order parser ``cart_line`` reads: catalog entries by SKU."""

    def __init__(self, entries: dict[str, Any]) -> None:
        self.entries = entries

    def entry(self, sku: str) -> Any:
        return self.entries[sku]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _promotions(client: CoreClient, products: list[Any], warehouse_id: int) -> dict[str, int]:
    """One live promotion of every kind (two 满减, one of them not stackable), on this catalog."""
    now = datetime.now(UTC)
    window = {"starts_at": _iso(now - timedelta(hours=1)), "ends_at": _iso(now + timedelta(days=1))}
    baijiu = [p for p in products if p.category == "白酒"]
    others = [p for p in products if p.category != "白酒"] or baijiu
    cheap = min(products, key=lambda p: p.base_price_fen)
    flash, auction, group = baijiu[0], baijiu[1 % len(baijiu)], others[0]
    made: dict[str, int] = {}
    definitions = {
        "full_reduction": {
            "rules": {
                "tiers": [
                    {"threshold_fen": 100_000, "off_fen": 5_000},
                    {"threshold_fen": 1_000_000, "off_fen": 80_001},
                ]
            },
        },
        "full_reduction_alone": {
            "kind": "full_reduction",
            "stackable": False,
            "rules": {"tiers": [{"threshold_fen": 500_000, "off_fen": 33_333}]},
        },
        "full_gift": {
            "rules": {"tiers": [{"threshold_fen": 200_000, "gift_sku": cheap.sku, "gift_bottles": 2}]},
        },
        "discount": {"rules": {"percent_off": 13}, "scope": {"categories": ["白酒"]}},
        "discount_more": {
            "kind": "discount",
            "rules": {"percent_off": 7},
            "scope": {"skus": [p.sku for p in products[:4]]},
        },
        "flash_sale": {
            "rules": {"sku": flash.sku, "price_fen": flash.base_price_fen * 7 // 10 + 37},
            "stock": 100_000,
            "per_store_limit": 100_000,
        },
        "auction": {
            "rules": {
                "sku": auction.sku,
                "warehouse_id": warehouse_id,
                "start_price_fen": auction.base_price_fen + 99,
                "floor_price_fen": auction.base_price_fen // 2 + 1,
                "step_fen": 333,
                "step_seconds": 7,
            },
            "stock": 100_000,
        },
        "group_buy": {
            "rules": {
                "sku": group.sku,
                "min_group_size": 2,
                "tiers": [{"min_stores": 2, "price_fen": group.base_price_fen * 9 // 10 + 1}],
            },
        },
    }
    for name, definition in definitions.items():
        body = {"kind": name, "name": f"测试{name}", **window, **definition}
        try:
            made[name] = (await client.promotions.create(body, idempotency_key=f"prop-{name}")).id
        except Exception as exc:
            raise AssertionError((name, getattr(exc, "details", None), body)) from exc
    return made


@pytest.fixture
def world(core_db: str) -> Iterator[dict[str, Any]]:
    core = CoreInAThread(core_db)
    try:

        async def load() -> dict[str, Any]:
            page = await core.client.catalog.search(limit=100)
            products = [p for p in page.items if p.status == "active"][:12]
            warehouse = (await core.client.catalog.warehouses())[0]
            promos = await _promotions(core.client, products, warehouse.id)
            return {"products": products, "promotions": promos}

        yield {"core": core, **core.run(load()), "env": text_environment()}
    finally:
        core.close()


unit_line = st.tuples(
    st.integers(0, 11), st.sampled_from([Unit.CASE, Unit.PACK, Unit.BOTTLE]), st.integers(1, 9)
)
channel_line = st.tuples(st.sampled_from(CHANNELS), st.integers(1, 12))
carts = st.fixed_dictionaries(
    {
        "store": st.sampled_from(STORES),
        "lines": st.lists(unit_line, min_size=1, max_size=6),
        "channels": st.lists(channel_line, max_size=2, unique_by=lambda c: c[0]),
    }
)

MONEY = r"([\d,]+\.\d{2})"
LINE = re.compile(
    rf"^(\d+)\. (.+?)：(.+?)，小计{MONEY}元(?:（约?合{MONEY}元/瓶）)?"
    rf"(?:，(?:活动价{MONEY}元/瓶，)?优惠{MONEY}元)?$"
)
PART = re.compile(rf"^{MONEY}元/(箱|瓶)×(\d+)$")
TOTAL = re.compile(rf"^合计：{MONEY}元（商品{MONEY}元(?:，促销-{MONEY}元)?(?:，券-{MONEY}元)?）$")
APPLIED = re.compile(rf"^· .+?：减{MONEY}元$")


def fen(text: str | None) -> int:
    if text is None:
        return 0
    whole, cents = text.replace(",", "").split(".")
    return int(whole) * 100 + int(cents)


def _check(text: str, lines: list[PricedLine], quote: Any) -> None:
    rows = text.splitlines()
    shown = [LINE.match(r) for r in rows if re.match(r"^\d+\. ", r)]
    assert all(shown), text
    assert len(shown) == len([li for li in lines if not li.is_gift]), text
    subtotals = line_discounts = 0
    for match, line in zip(shown, [li for li in lines if not li.is_gift], strict=True):
        assert match is not None
        parts = [PART.match(p) for p in match.group(3).split(" + ")]
        assert all(parts), match.group(0)
        units = {"箱": line.cases, "瓶": line.bottles}
        # the unit prices shown times the quantities shown are the subtotal shown, to the fen
        assert sum(fen(p.group(1)) * int(p.group(3)) for p in parts if p) == fen(match.group(4)), match.group(
            0
        )
        assert {p.group(2): int(p.group(3)) for p in parts if p} == {u: n for u, n in units.items() if n}
        subtotals += fen(match.group(4))
        line_discounts += fen(match.group(7))
    total = next(TOTAL.match(r) for r in rows if r.startswith("合计："))
    assert total is not None, text
    grand, goods, promos, coupons = (fen(total.group(n)) for n in (1, 2, 3, 4))
    assert goods == subtotals, text  # the lines add up to the goods amount
    assert grand == goods - promos - coupons, text  # and the discounts take them to the total
    assert line_discounts <= promos, text
    if "已享促销：" in rows:  # every promotion's share is listed, and they add up to the promotions
        start = rows.index("已享促销：") + 1
        applied = [APPLIED.match(r) for r in rows[start:] if r.startswith("· ") and "：减" in r]
        assert sum(fen(m.group(1)) for m in applied if m) == promos, text
    assert grand == quote.total_fen and goods == quote.subtotal_fen  # the core's figures, shown


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cart=carts)
def test_every_quote_line_and_total_adds_up_to_the_fen(world, cart):
    core: CoreInAThread = world["core"]
    products = world["products"]
    entries = Entries({p.sku: entry_from_product(p, None) for p in products})
    parsed = []
    for index, unit, quantity in cart["lines"]:
        product = products[index % len(products)]
        bottles = {
            Unit.CASE: product.bottles_per_case,
            Unit.PACK: entries.entry(product.sku).bottles_per_pack,
        }
        per = bottles.get(unit, 1) * quantity
        parsed.append(ParsedLine(product.sku, product.name, quantity, unit, per, "", ()))
    lines = merge([], [cart_line(entries, li) for li in parsed])
    basket = Cart("prop", 1, cart["store"], lines, 0.0)
    channel_skus = {}
    for kind, _ in cart["channels"]:
        channel_skus[kind] = core.run(core.client.promotions.get(world["promotions"][kind])).rules["sku"]
    requests = co.line_requests(basket) + [
        LineRequest(channel_skus[kind], bottles=n, promotion_id=world["promotions"][kind])
        for kind, n in cart["channels"]
    ]

    quote = core.run(core.client.orders.quote(cart["store"], requests))
    view = co.quote_view(quote, basket)
    text = (
        world["env"]
        .get_template("replies/order_quote.j2")
        .render(view=view, header="", notes=[], ask="confirm")
    )

    _check(text, list(view.lines), quote)


def test_the_reported_case_line_shows_the_case_price_its_subtotal_uses():
    """The line of the report: 2 cases of 12 at 20,897.00 a case (1,777.00 a loose bottle)."""
    from backend_client.models.orders import Availability, QuoteLine

    line = QuoteLine(
        line_no=1,
        sku="MT-FT-53-500",
        name="贵州茅台酒 飞天 53%vol 500ml",
        cases=2,
        bottles=0,
        quantity=24,
        bottles_per_case=12,
        bottle_price_fen=177_700,
        case_price_fen=2_089_700,
        min_order_bottles=1,
        list_amount_fen=4_179_400,
        discount_fen=0,
        amount_fen=4_179_400,
        promotion_id=None,
        is_gift=False,
        availability=Availability(24, 100, True, 0, (), None),
    )
    (part,) = co.price_parts(line)
    assert (part.unit, part.price, part.count) == ("case", "20,897.00", 2)
    assert "1,777.00" not in part.price
