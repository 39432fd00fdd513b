"""Which order "再来一单" repeats and how "我的订单" sorts: by when an order was placed, newest
first, whatever order the core numbered them in; a cancelled order is never repeated."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.ordering import reorder, tracking

T0 = datetime(2026, 11, 1, tzinfo=UTC)
STATUSES = ("created", "allocated", "shipped", "in_transit", "delivered", "cancelled")


@dataclass(frozen=True)
class Ord:
    id: int
    status: str
    created_at: datetime


orders = st.lists(
    st.builds(
        Ord,
        st.integers(1, 10_000),
        st.sampled_from(STATUSES),
        st.integers(0, 90).map(lambda d: T0 + timedelta(days=d)),
    ),
    max_size=12,
    unique_by=lambda o: o.id,
)


@given(orders)
def test_the_list_is_newest_first_and_reorder_takes_the_newest_placed_or_delivered(found):
    listed = tracking.newest_first(found)
    assert sorted(listed, key=lambda o: o.id) == sorted(found, key=lambda o: o.id)  # nothing lost
    assert all((a.created_at, a.id) >= (b.created_at, b.id) for a, b in itertools.pairwise(listed))
    chosen = reorder.latest(found)
    placed = [o for o in found if o.status != "cancelled"]
    if not placed:
        assert chosen is None
        return
    assert chosen.status != "cancelled"
    assert chosen.created_at == max(o.created_at for o in placed)


def test_an_old_order_numbered_after_a_newer_one_is_not_the_latest():
    newer = Ord(1, "delivered", T0 + timedelta(days=30))  # 12月: a lower id
    older = Ord(2, "delivered", T0)  # 11月, imported later: a higher id
    cancelled = Ord(3, "cancelled", T0 + timedelta(days=31))
    assert reorder.latest([cancelled, older, newer]) is newer
    assert tracking.newest_first([older, newer, cancelled]) == [cancelled, newer, older]
