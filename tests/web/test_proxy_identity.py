"""Client identity behind a proxy, and the fraud windows that depend on it, over real HTTP through
a reverse proxy that appends X-Forwarded-For like the README's nginx recipe."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

import pytest

from bot.clientip import parse_networks, resolve
from tests.web.forwarding_proxy import ForwardingProxy, client_from
from tests.web.member_app import WECHAT_UA

PROXY_SOURCE = "127.0.0.2"
TRUSTED = "127.0.0.2/32"


def _nets(text: str):  # type: ignore[no-untyped-def]
    return parse_networks(text)


def test_the_rightmost_untrusted_hop_is_the_client():
    nets = _nets("10.0.0.0/8 127.0.0.1")
    # the client's own claim (left) is ignored; the address our proxy appended is the client
    assert resolve("127.0.0.1", ["6.6.6.6, 203.0.113.9"], nets) == "203.0.113.9"
    # two proxies of ours (a load balancer then nginx): skip both
    assert resolve("127.0.0.1", ["6.6.6.6, 198.51.100.7, 10.1.2.3"], nets) == "198.51.100.7"
    # several headers are one list, in order
    assert resolve("127.0.0.1", ["6.6.6.6", "198.51.100.7"], nets) == "198.51.100.7"
    # a peer that is not a trusted proxy: its header means nothing
    assert resolve("203.0.113.50", ["1.2.3.4"], nets) == "203.0.113.50"
    # no proxies configured: the header is ignored
    assert resolve("127.0.0.1", ["1.2.3.4"], ()) == "127.0.0.1"
    # garbage where our proxy's hop should be: stop at the last address we can vouch for
    assert resolve("127.0.0.1", ["1.2.3.4, not-an-ip"], nets) == "127.0.0.1"
    # ports, IPv6 and v4-mapped v6
    assert resolve("127.0.0.1", ["203.0.113.9:5555"], nets) == "203.0.113.9"
    assert resolve("127.0.0.1", ["[2001:db8::1]:443"], nets) == "2001:db8::1"
    assert resolve("::ffff:127.0.0.1", ["203.0.113.9"], nets) == "203.0.113.9"
    # only trusted hops and nothing further: the last trusted one
    assert resolve("127.0.0.1", ["10.0.0.5"], nets) == "10.0.0.5"


def test_the_setting_is_validated_and_normalised(make_settings):
    assert make_settings(trusted_proxies="127.0.0.1, 10.0.0.0/8").trusted_proxies == "127.0.0.1 10.0.0.0/8"
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_settings(trusted_proxies="10.0.0.0/8, nginx")
    assert ipaddress.ip_network("10.0.0.0/8") in _nets("10.0.0.0/8")


async def _through_proxy(member_app, **overrides):  # type: ignore[no-untyped-def]
    m = await member_app(**overrides)
    proxy = await ForwardingProxy(str(m.client.make_url("/")), source=PROXY_SOURCE).start()
    return m, proxy


async def _recent_ips(m) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["ip"] for r in await m.runtime.scanner.guard.recent_reviews(m.tenant_id)]


async def test_the_client_address_is_the_one_our_proxy_saw(member_app):
    m, proxy = await _through_proxy(member_app, trusted_proxies=TRUSTED)
    try:
        async with client_from("127.0.0.7", headers={"User-Agent": WECHAT_UA}) as person:
            # a forged X-Forwarded-For from the client is kept left of what the proxy appends
            await person.get(f"{proxy.url}/c/garbage1", headers={"X-Forwarded-For": "6.6.6.6"})
        assert await _recent_ips(m) == ["127.0.0.7"]
    finally:
        await proxy.close()


async def test_without_trusted_proxies_the_header_is_ignored(member_app):
    m, proxy = await _through_proxy(member_app)
    try:
        async with client_from("127.0.0.7", headers={"User-Agent": WECHAT_UA}) as person:
            await person.get(f"{proxy.url}/c/garbage1", headers={"X-Forwarded-For": "6.6.6.6"})
        assert await _recent_ips(m) == [PROXY_SOURCE]  # the peer: the proxy itself
    finally:
        await proxy.close()


@pytest.mark.parametrize("trusted", [TRUSTED, ""], ids=["proxy_trusted", "proxy_not_configured"])
async def test_five_anonymous_garbage_requests_lock_nobody_else(member_app, trusted):
    """Even with the proxy not configured (everyone shares its address), an anonymous visitor's
    garbage does not lock out signed-in members; with it configured, not even other visitors."""
    m, proxy = await _through_proxy(member_app, trusted_proxies=trusted)
    batch = await m.batch()
    member = await m.member("oa-neighbour")
    try:
        async with client_from("127.0.0.7", headers={"User-Agent": WECHAT_UA}) as attacker:
            statuses = [(await attacker.get(f"{proxy.url}/c/garbage{i}")).status for i in range(6)]
        assert statuses[:5] == [404] * 5 and statuses[5] == 429  # the anonymous source is limited
        async with client_from("127.0.0.8", headers={"User-Agent": WECHAT_UA}, cookies=m.cookie(member)) as p:
            page = await p.get(f"{proxy.url}/c/{m.code(batch.id, 1)}")
            assert page.status == 200 and "正品验证通过" in await page.text()
            typo = await p.get(f"{proxy.url}/c/garbage-typo")
            assert typo.status == 404  # his own invalid code counts against him, not "locked"
        async with client_from("127.0.0.9", headers={"User-Agent": WECHAT_UA}) as visitor:
            other = await visitor.get(f"{proxy.url}/c/garbage-other")
        # another anonymous visitor: limited only if we cannot tell him apart from the attacker
        assert other.status == (404 if trusted else 429)
        async with client_from("127.0.0.9", headers={"User-Agent": WECHAT_UA}) as visitor:
            genuine = await visitor.get(f"{proxy.url}/c/{m.code(batch.id, 2)}", allow_redirects=False)
        assert genuine.status == 302  # a genuine code still goes to WeChat's OAuth, locked or not
    finally:
        await proxy.close()


@pytest.mark.parametrize("trusted", [TRUSTED, ""], ids=["proxy_trusted", "proxy_not_configured"])
async def test_twenty_five_consumers_behind_one_address_scan_within_a_minute(member_app, trusted):
    """The default source window was 20 scans a minute per IP: behind one address (a carrier NAT,
    a bar's Wi-Fi, or the proxy itself when not configured) genuine consumers are not tripped."""
    m, proxy = await _through_proxy(member_app, trusted_proxies=trusted)
    batch = await m.batch()
    members = [await m.member(f"mp-crowd-{i}") for i in range(25)]
    try:
        async with client_from("127.0.0.7") as bar_wifi:
            outcomes = []
            for i, member in enumerate(members):
                q = quote(f"https://jb.example.cn/c/{m.code(batch.id, 10 + i)}", safe="")
                resp = await bar_wifi.post(
                    f"{proxy.url}/mp/api/scan", json={"q": q}, headers=m.bearer(member)
                )
                outcomes.append((await resp.json())["outcome"])
        assert outcomes == ["credited"] * 25
    finally:
        await proxy.close()
