"""``jiubot sim``: run the WeChat platform simulator on its own.

    jiubot sim --port 8090 --app wxAPPID:SECRET:TOKEN:AESKEY:safe:http://127.0.0.1:8080/wechat/wxAPPID

Also ``python -m wechat_sim`` (same options). WeChat's API paths are served from the root, the
console at ``/_sim/console``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_STATE = Path("var") / "wechat_sim.json"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run the WeChat platform simulator (API, callback driver, chat console)",
        description="Serve WeChat's API paths from the root and a chat console at /_sim/console.",
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port (default 8090)")
    parser.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="APPID:SECRET[:TOKEN[:AESKEY[:MODE[:CALLBACK_URL]]]]",
        help="an Official Account (repeatable); MODE is plain, compat or safe",
    )
    parser.add_argument(
        "--mp",
        action="append",
        default=[],
        metavar="APPID:SECRET[:TOKEN[:AESKEY[:MODE[:CALLBACK_URL]]]]",
        help="a mini-program (repeatable)",
    )
    parser.add_argument(
        "--group",
        default="",
        help="open-platform account binding every app given here (they share unionids)",
    )
    parser.add_argument(
        "--state", type=Path, default=DEFAULT_STATE, help=f"state file (default {DEFAULT_STATE})"
    )
    parser.add_argument("--no-state", action="store_true", help="keep everything in memory")
    parser.add_argument(
        "--deadline", type=float, default=5.0, help="callback deadline in seconds (default 5)"
    )
    parser.add_argument(
        "--attempts", type=int, default=3, help="callback deliveries in total per message (default 3)"
    )
    parser.add_argument(
        "--show-secrets",
        action="store_true",
        help="show each app's Token and EncodingAESKey in the control API and console (local use only)",
    )


def build_config(args: argparse.Namespace):
    from wechat_sim.config import SimConfig, parse_app

    apps = []
    for spec, kind in [(s, "oa") for s in args.app] + [(s, "mp") for s in args.mp]:
        app = parse_app(spec)
        app.kind = kind
        app.group = args.group
        apps.append(app)
    return SimConfig(
        apps=apps,
        state_path=None if args.no_state else args.state,
        callback_deadline=args.deadline,
        callback_attempts=args.attempts,
        show_secrets=args.show_secrets,
    )


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from wechat_sim.app import create_sim_app

    try:
        config = build_config(args)
    except ValueError as exc:
        print(f"jiubot sim: {exc}", file=sys.stderr)
        return 2
    app = create_sim_app(config)
    base = f"http://{args.host}:{args.port}"
    print(f"WeChat simulator: API base {base}  console {base}/_sim/console", file=sys.stderr)
    for spec in config.apps:
        print(
            f"  {spec.kind} {spec.appid} ({spec.mode}) -> {spec.callback_url or 'no callback URL'}",
            file=sys.stderr,
        )
    if config.state_path:
        print(f"  state file {config.state_path}", file=sys.stderr)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wechat_sim", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))
