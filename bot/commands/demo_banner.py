"""The banner ``jiubot demo`` prints once it listens: where to go and what to try as each persona."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SIM_PREFIX = "/wxsim"  # where the demo mounts the simulator
CORE_PREFIX = "/refcore"  # and the reference core
DEMO_OA = "wxdemooa00000001"


DEMO_OPERATOR = ("admin", "demo-admin-2026")  # the console's HQ admin of the demo tenant


def print_banner(
    base: str, people: list[Any], scene: str | None, store, materials, lapsed: Any = None
) -> None:
    console = f"{base}{SIM_PREFIX}/_sim/console"
    bind = (
        [
            f"  bind the demo store:       as {people[0].name} [{people[0].person_id}], "
            f"scan the QR scene {scene}",
            f"                             ({store.name}; the SMS code shows on the simulated phone "
            "and here)",
        ]
        if scene and store
        else []
    )
    codes = [f"  bottle codes to scan:      {url}" for url in materials.code_urls[:1]] + [
        f"                             {url}" for url in materials.code_urls[1:]
    ]
    if materials.code_urls:
        codes.append(
            f"                             ({materials.product}; listed under 扫一扫 in the console)"
        )
    coupon = (
        [f"  store coupon QR:           {materials.store_coupon_url}"] if materials.store_coupon_url else []
    )
    distributor = (
        [
            f"  distributor:               {people[2].name} works for {materials.distributor}; he asks",
            "                             我的门店, 素材 (links to forward), 素材数据 (his figures), 直播",
        ]
        if materials.distributor
        else []
    )
    jiubot = sys.argv[0] if Path(sys.argv[0]).name == "jiubot" else "jiubot"
    cli: list[str] = (
        [
            f"  in a second terminal, in {Path.cwd()} (var/demo.env has this demo's settings):",
            f"    {jiubot} store qr --store {store.code}",
            f"    {jiubot} codes batch list",
        ]
        if store
        else []
    )
    if lapsed is not None:
        tick = f"{jiubot} journeys tick" + (f" --at {lapsed.tick_at}" if lapsed.tick_at else "")
        cli += [
            f"    {tick}",
            f"      (win-back: {lapsed.name} last ordered {lapsed.last_order_at:%Y-%m-%d}; its owner",
            f"       {lapsed.person_name} [{lapsed.person_id}] gets a coupon and a message in the chat)",
        ]
    lines = [
        "",
        "jiubot demo is running.",
        f"  chat console (open this):  {console}",
        f"  operator console:          {base}/console/  (sign in as {DEMO_OPERATOR[0]} / {DEMO_OPERATOR[1]})",
        f"  jiubot callback:           {base}/wechat/{DEMO_OA}",
        f"  reference core API:        {base}{CORE_PREFIX}/openapi.json",
        f"  health:                    {base}/readyz",
        "  simulated people:          " + ", ".join(f"{p.name} [{p.person_id}]" for p in people),
        *bind,
        *codes,
        *coupon,
        *distributor,
        *cli,
        "Follow the account in the console, tap the menu, or type 帮助. Ctrl-C stops.",
        "",
    ]
    print("\n".join(lines), flush=True)
