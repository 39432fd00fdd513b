"""Binding by SMS code over HTTP: codes are limited per client IP (the trusted-proxy address of
bot/clientip.py), so one address cannot flood many phones; another address still gets its code;
the code binds the store."""

from __future__ import annotations

import re

from bot.db import session_scope
from bot.membership.actions import ensure_member
from bot.miniapp.session import MpSession, SessionSigner
from tests.campaigns.conftest import MP_APPID, Shop
from tests.conftest import OA_APPID


async def _tokens(shop: Shop, count: int) -> list[str]:
    tenant = await shop.tenant_id()
    signer = SessionSigner(shop.services.settings.secret_key, 3600)
    out = []
    async with session_scope(shop.services.sessions) as session:
        for i in range(count):
            member = await ensure_member(session, tenant, OA_APPID, f"o_sms_{i}")
            out.append(signer.issue(MpSession(member, tenant, MP_APPID, f"mp_sms_{i}")).token)
    return out


async def _post(shop: Shop, path: str, token: str, body: dict, ip: str) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": ip}
    async with shop.client.post(path, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_codes_are_limited_per_client_ip_and_bind_the_store(shop_factory, core_db) -> None:
    shop = await shop_factory(core_db, trusted_proxies="127.0.0.1/32", sms_per_ip_hour=3)
    stores = list((await shop.api.org.stores(limit=20)).items)
    phones = list(dict.fromkeys(s.owner_phone for s in stores))[:5]
    assert len(phones) == 5
    tokens = await _tokens(shop, 5)
    sms = shop.services.ordering.sms
    for token, phone in zip(tokens[:3], phones[:3], strict=True):
        status, body = await _post(shop, "/mp/api/store/bind/sms", token, {"phone": phone}, "203.0.113.7")
        assert status == 200 and body["sent"] is True, body
    # a fourth phone from the same address: refused, nothing sent to it
    status, body = await _post(shop, "/mp/api/store/bind/sms", tokens[3], {"phone": phones[3]}, "203.0.113.7")
    assert status == 429 and body["error"] == "sms_limited" and body["reason"] == "too_many_for_ip", body
    assert body["retry_after"] > 0 and "频繁" in body["message"]
    assert await sms.messages(phones[3]) == []
    # the limit is the address's, not everyone's
    status, body = await _post(
        shop, "/mp/api/store/bind/sms", tokens[3], {"phone": phones[3]}, "198.51.100.9"
    )
    assert status == 200, body

    # the code binds the store whose owner has that phone; a wrong code does not
    status, body = await _post(
        shop, "/mp/api/store/bind/sms/verify", tokens[0], {"code": "000000"}, "203.0.113.7"
    )
    code = re.search(r"\d{6}", await sms.last_text(phones[0]) or "").group(0)  # type: ignore[union-attr]
    if code != "000000":
        assert status == 400 and body["error"] == "phone_code_invalid"
    status, body = await _post(
        shop, "/mp/api/store/bind/sms/verify", tokens[0], {"code": code}, "203.0.113.7"
    )
    assert status == 200 and body["bound"] is True, body
    owned = [s for s in stores if s.owner_phone == phones[0]]
    assert body["store"]["core_store_id"] in {s.id for s in owned}
