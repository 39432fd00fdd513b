"""``jiubot codes ...``: batches, printing files, activation and voiding (filled in slice 2)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction, run: Any, tenant_of: Any) -> None:
    return None
