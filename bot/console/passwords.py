"""Operator passwords: argon2id hashes (argon2-cffi), checked in constant time.

An unknown username is checked against a dummy hash too, so the answer takes as long as for a
known one and timing does not tell which usernames exist."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 128  # argon2 takes any length; a bound keeps a megabyte "password" from costing CPU

_hasher = PasswordHasher()  # argon2id, RFC 9106 defaults of argon2-cffi


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash at sign-in)."""
    return _hasher.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password-for-timing")


def burn_time(password: str) -> None:
    """Spend what a real check costs (for unknown usernames)."""
    verify_password(_dummy_hash(), password)


def password_problem(password: str) -> str | None:
    """A message code (templates/console/messages.j2) when ``password`` is too weak, else None."""
    if len(password) < MIN_LENGTH:
        return "password_too_short"
    if len(password) > MAX_LENGTH:
        return "password_too_long"
    kinds = sum(
        (
            any(c.isdigit() for c in password),
            any(c.isalpha() for c in password),
            any(not c.isalnum() for c in password),
        )
    )
    if kinds < 2:
        return "password_too_simple"
    return None
