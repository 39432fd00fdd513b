from __future__ import annotations

import pytest

from bot.ordering.catalog_source import load_catalog
from bot.ordering.cli import parser_for
from bot.ordering.interface import Catalog
from bot.ordering.parser import OrderParser


@pytest.fixture(scope="session")
def demo_catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def parser(demo_catalog) -> OrderParser:
    return parser_for(demo_catalog)
