"""Session tokens: signed, expiring, bound to the deployment's key."""

from __future__ import annotations

import pytest

from bot.miniapp.errors import ErrorCode, MpError
from bot.miniapp.session import MpSession, SessionSigner

SESSION = MpSession(member_id=42, tenant_id=1, appid="wxmp0000000000001", openid="o-abc", unionid="u-1")


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_round_trips_to_the_same_session():
    signer = SessionSigner("k" * 32, 3600)
    issued = signer.issue(SESSION)
    assert signer.verify(issued.token) == SESSION
    assert issued.token.startswith("v1.")


def test_a_token_without_unionid():
    signer = SessionSigner("k" * 32, 3600)
    plain = MpSession(7, 1, "wxmp", "o-x")
    assert signer.verify(signer.issue(plain).token) == plain


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # signature
        lambda t: "v1." + t.split(".")[1][:-2] + "xx." + t.split(".")[2],  # claims
        lambda t: "v2" + t[2:],
        lambda t: t.replace(".", "", 1),
        lambda t: "",
        lambda t: "a.b.c",
    ],
)
def test_tampered_tokens_are_refused(mangle):
    signer = SessionSigner("k" * 32, 3600)
    with pytest.raises(MpError) as caught:
        signer.verify(mangle(signer.issue(SESSION).token))
    assert caught.value.code == ErrorCode.SESSION_INVALID
    assert caught.value.status == 401


def test_a_token_signed_with_another_key_is_refused():
    token = SessionSigner("k" * 32, 3600).issue(SESSION).token
    with pytest.raises(MpError) as caught:
        SessionSigner("z" * 32, 3600).verify(token)
    assert caught.value.code == ErrorCode.SESSION_INVALID


def test_tokens_expire():
    clock = Clock()
    signer = SessionSigner("k" * 32, 60, clock=clock)
    token = signer.issue(SESSION).token
    clock.now += 59
    assert signer.verify(token) == SESSION
    clock.now += 1
    with pytest.raises(MpError) as caught:
        signer.verify(token)
    assert caught.value.code == ErrorCode.SESSION_EXPIRED


def test_a_key_is_required():
    with pytest.raises(ValueError):
        SessionSigner("", 60)
