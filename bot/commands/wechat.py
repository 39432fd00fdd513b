"""``jiubot wechat ...``: operator commands for the outbound side.

    jiubot wechat token [--appid APPID] [--refresh]

prints the app's cluster-wide access token (masked), when it expires and when it will be renewed,
fetching it first if no process has; ``--refresh`` drops the cached one (compare-and-swap, as
after a 40001) and fetches a new one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from bot.config import Settings, settings_or_exit


def register(subparsers: argparse._SubParsersAction) -> None:
    wechat = subparsers.add_parser("wechat", help="WeChat API client: access tokens")
    sub = wechat.add_subparsers(dest="wechat_command", required=True)
    token = sub.add_parser("token", help="show (and fetch if needed) an app's shared access token")
    token.add_argument("--appid", default=None, help="default: JIUBOT_OA_APPID")
    token.add_argument("--refresh", action="store_true", help="drop the cached token and fetch a new one")
    token.set_defaults(func=cmd_token)


def cmd_token(args: argparse.Namespace) -> int:
    settings = settings_or_exit()
    appid = args.appid or settings.oa_appid
    if not appid:
        print("jiubot: --appid is required (no JIUBOT_OA_APPID configured)", file=sys.stderr)
        return 2
    return asyncio.run(_token(settings, appid, refresh=args.refresh))


def mask(token: str) -> str:
    return f"{token[:6]}...{token[-4:]} ({len(token)} characters)" if len(token) > 12 else "***"


async def _token(settings: Settings, appid: str, *, refresh: bool) -> int:
    from bot.wechat.errors import WeChatError
    from bot.wiring.features import WECHAT
    from bot.wiring.runtime import open_runtime

    async with open_runtime(settings, [WECHAT], redis_mode="require") as runtime:
        client = runtime.services.wechat
        assert client is not None  # the WECHAT feature made it
        try:
            token = await client.tokens.get(appid)
            if refresh:
                token = await client.tokens.refresh_after_failure(appid, token)
        except WeChatError as exc:
            print(
                f"jiubot: {type(exc).__name__}: errcode={exc.errcode} {exc.errmsg} rid={exc.rid}",
                file=sys.stderr,
            )
            return 1
        cred = await client.tokens.peek(appid)
    now = time.time()
    print(f"app        {appid}")
    print(f"token      {mask(token)}")
    if cred is not None:
        print(f"expires in {int(cred.expires_at - now)} s")
        print(f"renewal in {max(int(cred.refresh_at - now), 0)} s (by whichever process needs it first)")
    return 0
