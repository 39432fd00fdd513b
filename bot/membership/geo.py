"""Where a scan happened: reverse geocoding by nearest city and an IP -> city resolver.

There is no GeoIP database on this machine: ``IpLocator`` reads a CIDR table
(``cidr,province,city`` CSV, setting ``JIUBOT_IP_CITY_TABLE``) and ships demo data over the
documentation ranges only. A deployment plugs in a real table (or another ``Locator``).
"""

from __future__ import annotations

import csv
import ipaddress
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.membership.geo_data import CITIES, PROVINCES

# Farther than this from every known city we say "unknown" rather than guess (e.g. abroad).
MAX_DISTANCE_KM = 450.0


@dataclass(frozen=True, slots=True)
class Place:
    province: str  # official name, e.g. 四川省
    city: str | None
    source: str  # gps (OA LOCATION), mp (mini-program location), ip

    def label(self) -> str:
        if self.city and not self.province.startswith(self.city):
            return f"{self.province}{self.city}"
        return self.province


def province_name(name: str) -> str | None:
    """Official name for a short or full province name; None if unknown."""
    name = name.strip()
    if name in PROVINCES.values():
        return name
    return PROVINCES.get(name)


def known_province(name: str) -> bool:
    return province_name(name) is not None


def _haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


def reverse_geocode(latitude: float, longitude: float, *, source: str = "gps") -> Place | None:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    best = min(CITIES, key=lambda c: _haversine(latitude, longitude, c[2], c[3]))
    if _haversine(latitude, longitude, best[2], best[3]) > MAX_DISTANCE_KM:
        return None
    return Place(PROVINCES[best[1]], best[0], source)


def city_place(city: str, *, source: str = "ip") -> Place | None:
    for name, short, _lat, _lng in CITIES:
        if name == city:
            return Place(PROVINCES[short], name, source)
    return None


class Locator(Protocol):
    def locate(self, ip: str | None) -> Place | None: ...


# Demo data over RFC 5737 documentation ranges: NOT real Chinese allocations.
DEMO_TABLE = (
    ("192.0.2.0/24", "北京", "北京"),
    ("198.51.100.0/24", "广东", "广州"),
    ("203.0.113.0/25", "四川", "成都"),
    ("203.0.113.128/25", "贵州", "遵义"),
)


class IpLocator:
    """Longest-prefix match over a CIDR table."""

    def __init__(
        self, rows: list[tuple[str, str, str]] | tuple[tuple[str, str, str], ...] = DEMO_TABLE
    ) -> None:
        self._nets: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, Place]] = []
        for cidr, province, city in rows:
            official = province_name(province)
            if official is None:
                raise ValueError(f"unknown province {province!r} for {cidr}")
            self._nets.append((ipaddress.ip_network(cidr, strict=False), Place(official, city or None, "ip")))
        self._nets.sort(key=lambda item: item[0].prefixlen, reverse=True)

    @classmethod
    def from_csv(cls, path: str | Path) -> IpLocator:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [
                (r[0].strip(), r[1].strip(), r[2].strip() if len(r) > 2 else "")
                for r in csv.reader(handle)
                if r and not r[0].startswith("#")
            ]
        return cls(rows)

    def locate(self, ip: str | None) -> Place | None:
        if not ip:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for net, place in self._nets:
            if address.version == net.version and address in net:
                return place
        return None
