"""``jiubot report ...`` and ``jiubot analytics ...``: the weekly report on demand, rollups of a
past day, server-side events and storage upkeep. Top-level imports stay light (``--help``)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    pass
