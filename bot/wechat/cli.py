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

from bot.config import ConfigError, Settings, load_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    wechat = subparsers.add_parser("wechat", help="WeChat API client: access tokens")
    sub = wechat.add_subparsers(dest="wechat_command", required=True)
    token = sub.add_parser("token", help="show (and fetch if needed) an app's shared access token")
    token.add_argument("--appid", default=None, help="default: JIUBOT_OA_APPID")
    token.add_argument("--refresh", action="store_true", help="drop the cached token and fetch a new one")
    token.set_defaults(func=cmd_token)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        for line in exc.lines:
            print(f"jiubot: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_token(args: argparse.Namespace) -> int:
    settings = _settings()
    appid = args.appid or settings.oa_appid
    if not appid:
        print("jiubot: --appid is required (no JIUBOT_OA_APPID configured)", file=sys.stderr)
        return 2
    return asyncio.run(_token(settings, appid, refresh=args.refresh))


def mask(token: str) -> str:
    return f"{token[:6]}...{token[-4:]} ({len(token)} characters)" if len(token) > 12 else "***"


async def _token(settings: Settings, appid: str, *, refresh: bool) -> int:
    from bot.db import create_engine, session_factory, session_scope
    from bot.redis import Keys, connect
    from bot.tenancy import repository
    from bot.wechat.errors import WeChatError
    from bot.wechat.outbound import WeChatClient
    from bot.wechat.ratelimit import RateLimiter, parse_rules
    from bot.wechat.wiring import new_session

    engine = create_engine(settings.database_url)
    redis, _ = await connect(settings.redis_url, mode="require")
    keys = Keys(settings.redis_prefix)

    async def secret(wanted: str) -> str:
        if wanted == settings.oa_appid and settings.oa_secret:
            return settings.oa_secret
        async with session_scope(session_factory(engine)) as session:
            apps = {a.appid: a for a in await repository.list_apps(session)}
        if wanted not in apps or not apps[wanted].secret:
            raise SystemExit(f"jiubot: no AppSecret known for {wanted} (jiubot app add --secret)")
        return apps[wanted].secret

    try:
        async with new_session(limit=4) as session:
            client = WeChatClient(
                session,
                base_url=settings.wechat_api_base,
                secrets=secret,
                redis=redis,
                keys=keys,
                limiter=RateLimiter(redis, keys, parse_rules(settings.wechat_rate_limits)),
                timeout=settings.wechat_timeout_seconds,
                retries=settings.wechat_retries,
                backoff=settings.wechat_retry_backoff_seconds,
                refresh_ahead=settings.wechat_token_refresh_ahead_seconds,
            )
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
    finally:
        await redis.aclose()
        await engine.dispose()
    now = time.time()
    print(f"app        {appid}")
    print(f"token      {mask(token)}")
    if cred is not None:
        print(f"expires in {int(cred.expires_at - now)} s")
        print(f"renewal in {max(int(cred.refresh_at - now), 0)} s (by whichever process needs it first)")
    return 0
