"""Who is on the other end of a request: the ONE place that reads ``X-Forwarded-For``.

Behind a reverse proxy every request comes from the proxy's address, so the client is named by
the proxy in ``X-Forwarded-For``. That header is written by whoever sends the request, so it is
believed only as far as it was written by proxies we run (``JIUBOT_TRUSTED_PROXIES``, a list of
CIDRs): starting from the TCP peer, every hop that is a trusted proxy is skipped and the first
untrusted address, read from the right, is the client. Anything a client put further left is
ignored. With no trusted proxies configured (the default) the header is ignored and the TCP peer
is the client.

nginx: ``proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`` and
``JIUBOT_TRUSTED_PROXIES=127.0.0.1/32`` (or the proxies' addresses). Client addresses key only
the anonymous limits (docs/membership.md, "Fraud windows"); signed-in members are keyed on the
member, never on an address many people may share.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from aiohttp import web

from bot import keys
from bot.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` -> networks; raises ValueError naming a bad entry."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
    return tuple(networks)


@functools.lru_cache(maxsize=8)
def _networks(text: str) -> tuple[Network, ...]:
    return parse_networks(text)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def resolve(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str | None:
    """The client address given the TCP ``peer``, the ``X-Forwarded-For`` header values (in
    order) and the trusted proxy networks."""
    if peer is None:
        return None
    current = _address(peer)
    if current is None or not trusted:
        return str(current) if current is not None else peer
    hops = [h for value in forwarded_for for h in value.split(",")]
    while any(current in net for net in trusted) and hops:
        candidate = _address(hops.pop())
        if candidate is None:  # garbage where a proxy should have written an address
            return str(current)
        current = candidate
    return str(current)


def client_ip(request: web.Request) -> str | None:
    """The client's IP address, honouring X-Forwarded-For only from trusted proxies."""
    settings = request.app[keys.SETTINGS]
    trusted = _networks(settings.trusted_proxies)
    return resolve(request.remote, request.headers.getall("X-Forwarded-For", []), trusted)


def proxy_warning(settings: Settings) -> str | None:
    """For ``jiubot check``: a reverse proxy is likely in front (the public URL is https while
    jiubot listens on a loopback or private address) but none is trusted, so every client would
    have the proxy's address."""
    if settings.trusted_proxies or not settings.public_base_url.startswith("https://"):
        return None
    host = (
        _address(settings.host)
        if settings.host not in ("localhost", "")
        else ipaddress.ip_address("127.0.0.1")
    )
    if host is None or not (host.is_loopback or host.is_private):
        return None
    return (
        f"public_base_url is https but jiubot listens on {settings.host}: behind a reverse proxy set "
        "JIUBOT_TRUSTED_PROXIES (e.g. 127.0.0.1/32 for nginx on this host) and have the proxy send "
        "X-Forwarded-For, or every client has the proxy's address (README, Production)"
    )
