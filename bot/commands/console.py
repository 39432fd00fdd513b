"""``jiubot operator add/list/disable/enable/reset``: console accounts from the shell.

The shell is trusted (it has the database URL): these commands bootstrap the first HQ admin and
rescue a locked-out one. Each change is written to the audit log as done by the CLI.
Passwords come from $JIUBOT_OPERATOR_PASSWORD, else a prompt, else ``--generate`` prints one."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sys
from typing import Any


def _password(args: argparse.Namespace) -> str:
    from bot.console.passwords import password_problem

    if args.generate:
        password = secrets.token_urlsafe(12) + "-9"
        print(f"password: {password}")
        return password
    password = os.environ.get("JIUBOT_OPERATOR_PASSWORD") or ""
    if not password:
        if not sys.stdin.isatty():
            raise SystemExit("jiubot: set JIUBOT_OPERATOR_PASSWORD, or pass --generate")
        password = getpass.getpass("password: ")
    problem = password_problem(password)
    if problem:
        raise SystemExit(f"jiubot: weak password ({problem}): 10+ characters, letters and digits or symbols")
    return password


def _scope(text: str) -> tuple[str, int | None]:
    if text in ("", "tenant", "hq"):
        return "tenant", None
    kind, _, ident = text.partition(":")
    if kind not in ("region", "distributor") or not ident.isdigit():
        raise SystemExit("jiubot: --scope is tenant, region:<core id> or distributor:<core id>")
    return kind, int(ident)


def _run(args: argparse.Namespace, body: Any) -> int:
    from bot.commands.runner import tenant_of
    from bot.config import settings_or_exit

    settings = settings_or_exit()

    async def main() -> int:
        from bot.db import session_scope
        from bot.wiring.runtime import open_runtime

        async with open_runtime(settings, redis_mode="require") as runtime:
            sessions = runtime.services.sessions
            tenant = await tenant_of(sessions, args.tenant)
            async with session_scope(sessions) as session:
                return await body(session, tenant)

    return asyncio.run(main())


def cmd_add(args: argparse.Namespace) -> int:
    from bot.console import accounts, audit

    kind, core_id = _scope(args.scope)
    password = _password(args)

    async def body(session, tenant: int) -> int:
        try:
            op = await accounts.create(
                session,
                tenant,
                username=args.username,
                password=password,
                role=args.role,
                scope_kind=kind,
                scope_core_id=core_id,
                display_name=args.name or "",
            )
        except accounts.AccountError as exc:
            print(f"jiubot: cannot add operator: {exc.code}", file=sys.stderr)
            return 1
        await audit.record(
            session,
            audit.Who(tenant, None, "cli"),
            "operator.create",
            target_kind="operator",
            target_id=op.id,
            after={"username": op.username, "role": op.role, "scope": f"{kind}:{core_id or ''}"},
        )
        print(
            f"operator {op.id}: {op.username} role={op.role} scope={kind}{f':{core_id}' if core_id else ''}"
        )
        return 0

    return _run(args, body)


def cmd_list(args: argparse.Namespace) -> int:
    from bot.console import accounts

    async def body(session, tenant: int) -> int:
        for op in await accounts.list_operators(session, tenant, limit=10_000):
            state = "disabled" if op.disabled else "active"
            scope = op.scope_kind + (f":{op.scope_core_id}" if op.scope_core_id is not None else "")
            print(f"{op.id}\t{op.username}\t{op.role}\t{scope}\t{state}")
        return 0

    return _run(args, body)


def _set_disabled(disabled: bool):
    def command(args: argparse.Namespace) -> int:
        from bot.console import accounts, audit

        async def body(session, tenant: int) -> int:
            row = await accounts.by_username(session, tenant, args.username)
            if row is None:
                print(f"jiubot: no operator {args.username!r}", file=sys.stderr)
                return 1
            before = row.disabled
            await accounts.change(session, tenant, row.id, row.version, disabled=disabled)
            await audit.record(
                session,
                audit.Who(tenant, None, "cli"),
                "operator.disable" if disabled else "operator.enable",
                target_kind="operator",
                target_id=row.id,
                before={"disabled": before},
                after={"disabled": disabled},
            )
            print(f"operator {row.username}: {'disabled' if disabled else 'enabled'}")
            return 0

        return _run(args, body)

    return command


def cmd_reset(args: argparse.Namespace) -> int:
    from bot.console import accounts, audit

    password = _password(args)

    async def body(session, tenant: int) -> int:
        row = await accounts.by_username(session, tenant, args.username)
        if row is None:
            print(f"jiubot: no operator {args.username!r}", file=sys.stderr)
            return 1
        await accounts.set_password(session, tenant, row.id, password)
        await audit.record(
            session,
            audit.Who(tenant, None, "cli"),
            "operator.reset_password",
            target_kind="operator",
            target_id=row.id,
        )
        print(f"operator {row.username}: password reset, lock cleared")
        return 0

    return _run(args, body)


def register(subparsers: argparse._SubParsersAction) -> None:
    from bot.console.policy import ROLES

    parser = subparsers.add_parser("operator", help="console operator accounts")
    sub = parser.add_subparsers(dest="operator_command", required=True)

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--tenant", default=None, help="tenant slug (default: JIUBOT_TENANT_SLUG)")
        return p

    add = common(sub.add_parser("add", help="create an operator"))
    add.add_argument("username")
    add.add_argument(
        "--role",
        required=True,
        choices=ROLES,
    )
    add.add_argument("--scope", default="tenant", help="tenant | region:<core id> | distributor:<core id>")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--generate", action="store_true", help="generate and print a password")
    add.set_defaults(func=cmd_add)

    common(sub.add_parser("list", help="list operators")).set_defaults(func=cmd_list)

    for name, disabled in (("disable", True), ("enable", False)):
        p = common(sub.add_parser(name, help=f"{name} an operator"))
        p.add_argument("username")
        p.set_defaults(func=_set_disabled(disabled))

    reset = common(sub.add_parser("reset", help="set a new password and clear the lock"))
    reset.add_argument("username")
    reset.add_argument("--generate", action="store_true", help="generate and print a password")
    reset.set_defaults(func=cmd_reset)
