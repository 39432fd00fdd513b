"""``jiubot order-parse "TEXT" [--store ID] [--catalog PATH]``: how jiubot reads an order message.

Operators use it to see why the bot misunderstood someone; the corpus tests use the same
``reading()`` the command prints. The parser (pypinyin, cn2an, rapidfuzz) and the core client are
imported when the command runs, not when ``jiubot`` builds its parser (``jiubot --help`` stays fast).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from bot.ordering.catalog_source import CatalogSource
    from bot.ordering.interface import Catalog, ParseResult
    from bot.ordering.parser import OrderParser


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("order-parse", help="show how jiubot reads a free-text order, as JSON")
    p.add_argument("text", help='the message, e.g. "飞天 2箱 普五3件"')
    p.add_argument("--store", default=None, help="store id (store-specific catalogs come with the core)")
    p.add_argument("--catalog", default=None, help="catalog YAML (default: the demo catalog.yaml)")
    p.add_argument("--compact", action="store_true", help="one line of JSON")
    p.set_defaults(func=cmd_order_parse)


CoreOpener = Callable[[str, str], AbstractAsyncContextManager[Any]]


class OneShotCoreCatalog:
    """The core's catalog for one command: opens a client, reads the catalog, closes it."""

    def __init__(self, opener: CoreOpener, base_url: str, api_key: str) -> None:
        self.opener = opener
        self.base_url = base_url
        self.api_key = api_key

    async def load(self, store_id: str | None = None) -> Catalog:
        from bot.ordering.catalog_source import DEMO_CATALOG_PATH, load_catalog
        from bot.ordering.core_catalog import CoreCatalogSource

        async with self.opener(self.base_url, self.api_key) as api:
            return await CoreCatalogSource(api, lexicon=load_catalog(DEMO_CATALOG_PATH)).load(store_id)


def catalog_source(catalog_path: str | None, core_opener: CoreOpener | None = None) -> CatalogSource:
    """``--catalog`` if given; else the core's catalog when ``JIUBOT_CORE_URL`` is set and the
    ``jiubot`` command wired an HTTP opener (bot/commands/menu.py); else the demo catalog. The
    output's ``catalog`` field says which one was read."""
    from bot.ordering.catalog_source import DEMO_CATALOG_PATH, YamlCatalogSource

    if catalog_path:
        return YamlCatalogSource(catalog_path)
    core_url = os.environ.get("JIUBOT_CORE_URL")
    if core_url and core_opener is not None:
        return OneShotCoreCatalog(core_opener, core_url, os.environ.get("JIUBOT_CORE_API_KEY", ""))
    return YamlCatalogSource(DEMO_CATALOG_PATH)


@functools.lru_cache(maxsize=8)
def _parser(catalog: Catalog) -> OrderParser:
    from bot.ordering.parser import OrderParser

    return OrderParser(catalog)


def parser_for(catalog: Catalog) -> OrderParser:
    """One parser (and one index) per catalog value; catalogs are frozen and hashable."""
    return _parser(catalog)


def reading(result: ParseResult, store: str | None = None) -> dict[str, Any]:
    """The JSON shape of issue 5 item 6, plus details the chat flow and operators use."""
    out: dict[str, Any] = {
        "lines": [
            {
                "sku": li.sku,
                "name": li.name,
                "quantity": li.quantity,
                "unit": li.unit,
                "bottles": li.bottles,
                "text": li.text,
                "flags": list(li.flags),
                "needs_confirmation": li.needs_confirmation,
            }
            for li in result.lines
        ],
        "ambiguous": [
            {"text": a.text, "candidates": list(a.candidates), "quantity": a.quantity, "unit": a.unit}
            | ({"half": True} if a.half else {})
            | ({"unit_assumed": True} if a.unit_assumed else {})
            for a in result.ambiguous
        ],
        "unmatched": [u.text for u in result.unmatched],
        "suggestions": {u.text: list(u.suggestions) for u in result.unmatched},
        "unmatched_details": [
            {
                "text": u.text,
                "reason": u.reason,
                "quantity": u.quantity,
                "unit": u.unit,
                "suggestions": list(u.suggestions),
            }
            for u in result.unmatched
        ],
        "notes": list(result.notes),
        "question": result.question,
        "asked": list(result.asked),
        "topic": result.topic,
        "needs_confirmation": result.needs_confirmation,
    }
    if store is not None:
        out["store"] = store
    return out


def cmd_order_parse(args: argparse.Namespace) -> int:
    from backend_client import CoreError
    from bot.ordering.catalog_source import YamlCatalogSource
    from bot.ordering.errors import CatalogInvalid

    source = catalog_source(args.catalog, getattr(args, "core_opener", None))
    try:
        catalog = asyncio.run(source.load(args.store))
    except CatalogInvalid as exc:
        print(f"jiubot: {exc}", file=sys.stderr)
        return 2
    except CoreError as exc:
        print(f"jiubot: the core's catalog could not be read: {exc.code}: {exc}", file=sys.stderr)
        return 2
    out = reading(parser_for(catalog).parse(args.text), args.store)
    if isinstance(source, YamlCatalogSource):
        out["catalog"] = str(Path(source.path))
    elif isinstance(source, OneShotCoreCatalog):
        out["catalog"] = f"core:{source.base_url}"
    option = orjson.OPT_NON_STR_KEYS | (0 if args.compact else orjson.OPT_INDENT_2)
    sys.stdout.write(orjson.dumps(out, option=option).decode() + "\n")
    return 0
