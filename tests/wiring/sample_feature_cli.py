"""The CLI module of the sample feature in test_features.py (``Feature.cli`` names it)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    hello = subparsers.add_parser("sample-hello", help="the sample feature's command")
    hello.set_defaults(func=lambda args: print("你好，样例功能") or 0)
