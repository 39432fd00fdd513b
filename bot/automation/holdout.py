"""Deterministic groups: the global holdout (no marketing at all) and each journey's control.

A subject's bucket is a hash of the tenant, a salt and the subject, in [0, 1): stable across
processes and runs (no Python ``hash``), independent between salts, so the journey control group
is not the same people in every journey. Both are decided at enrolment, before any rate limit or
cap, so treatment and control are comparable."""

from __future__ import annotations

import hashlib

HOLDOUT = "holdout"
CONTROL = "control"
TREATMENT = "treatment"


def bucket(tenant_id: int, salt: str, subject: str) -> float:
    digest = hashlib.sha256(f"{tenant_id}|{salt}|{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_global_holdout(tenant_id: int, subject: str, share: float) -> bool:
    return bucket(tenant_id, "global-holdout", subject) < share


def arm(tenant_id: int, journey: str, subject: str, *, holdout: float, control: float) -> str:
    if in_global_holdout(tenant_id, subject, holdout):
        return HOLDOUT
    if bucket(tenant_id, f"journey:{journey}", subject) < control:
        return CONTROL
    return TREATMENT


def variant(tenant_id: int, journey: str, step: str, subject: str, weights: list[tuple[str, float]]) -> str:
    """The A/B variant of a step, by weight; the same subject always gets the same one."""
    total = sum(w for _, w in weights)
    point = bucket(tenant_id, f"variant:{journey}:{step}", subject) * total
    for name, weight in weights:
        if point < weight:
            return name
        point -= weight
    return weights[-1][0]
