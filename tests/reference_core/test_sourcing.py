from __future__ import annotations

from reference_core.sourcing import Site, StockSnapshot, distance_km, plan_line

NEAR = Site(1, "N", "近仓", "上海", 5.0)
MID = Site(2, "M", "中仓", "杭州", 170.0)
FAR = Site(3, "F", "远仓", "广州", 1200.0)
SITES = [FAR, NEAR, MID]


def test_the_nearest_warehouse_that_can_fill_the_line_alone_wins():
    plan = plan_line(10, SITES, {1: 5, 2: 20, 3: 50})
    assert [(p.site.code, p.quantity) for p in plan.picks] == [("M", 10)]
    assert plan.shortfall == 0


def test_when_no_warehouse_can_fill_it_the_line_is_split_nearest_first():
    plan = plan_line(30, SITES, {1: 5, 2: 20, 3: 4})
    assert [(p.site.code, p.quantity) for p in plan.picks] == [("N", 5), ("M", 20), ("F", 4)]
    assert plan.shortfall == 1


def test_nearest_split_strategy_takes_from_the_nearest_even_if_a_farther_one_could_fill():
    plan = plan_line(10, SITES, {1: 5, 2: 20}, strategy="nearest_split")
    assert [(p.site.code, p.quantity) for p in plan.picks] == [("N", 5), ("M", 5)]


def test_split_is_capped_by_max_warehouses():
    plan = plan_line(30, SITES, {1: 5, 2: 20, 3: 50}, strategy="nearest_split", max_warehouses=2)
    assert [(p.site.code, p.quantity) for p in plan.picks] == [("N", 5), ("M", 20)]
    assert plan.shortfall == 5


def test_snapshot_is_drawn_down_by_earlier_lines_of_the_same_product():
    snapshot = StockSnapshot({(1, 7): 5, (2, 7): 5})
    first = plan_line(5, SITES, snapshot.for_product(7))
    snapshot.take(7, first)
    second = plan_line(5, SITES, snapshot.for_product(7))
    assert [p.site.code for p in first.picks] == ["N"]
    assert [p.site.code for p in second.picks] == ["M"]


def test_distance_shanghai_hangzhou():
    assert 160 < distance_km(31.23, 121.47, 30.27, 120.15) < 170
