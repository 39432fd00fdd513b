"""Which mini-program endpoints each feature serves; every ``/mp/api`` route is in exactly one
group, and ``openapi.yaml`` documents them all (``tests/miniapp/test_openapi.py``).

* ``add_auth_routes`` (feature ``miniapp``): login, phone, me -- ``auth.py``.
* ``add_membership_routes`` (feature ``membership``): scan, points, member settings, referral,
  rewards, coupons -- ``membership.py``, ``rewards.py``, ``coupons.py``.
* ``add_ordering_routes`` (feature ``core``): store binding, catalog, cart, quote, orders --
  ``ordering.py``, ``cart.py``, ``orders.py``.
* ``add_analytics_routes`` (feature ``analytics``): behaviour events -- ``events.py``.
* ``add_regional_routes`` (feature ``regional``): campaigns, the store's account, the regional
  home -- ``promotions.py``.

Modules are imported when their feature adds its routes: a feature composed alone pulls in only
its own part.
"""

from __future__ import annotations

from aiohttp import web


def add_auth_routes(app: web.Application) -> None:
    from bot.miniapp import auth

    app.router.add_routes(auth.routes)


def add_membership_routes(app: web.Application) -> None:
    from bot.miniapp import coupons, membership, rewards

    for table in (membership.routes, rewards.routes, coupons.routes):
        app.router.add_routes(table)


def add_ordering_routes(app: web.Application) -> None:
    from bot.miniapp import cart, ordering, orders, sms_bind

    for table in (ordering.routes, sms_bind.routes, cart.routes, orders.routes):
        app.router.add_routes(table)


def add_analytics_routes(app: web.Application) -> None:
    from bot.miniapp import events

    app.router.add_routes(events.routes)


def add_regional_routes(app: web.Application) -> None:
    from bot.miniapp import promotions

    app.router.add_routes(promotions.routes)
