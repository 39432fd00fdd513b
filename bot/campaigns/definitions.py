"""Campaign definitions cached for a moment per core client: a rush of buyers on one flash sale
reads its definition (kind, product, name) once every ``TTL`` seconds instead of once per buyer.

Safe because the core stays the authority: price, stock, per-store limits and whether the
campaign is open (paused, stopped, ended) are checked by the core's order create, so a stale
definition can at worst word a refusal the core gives anyway. The console's changes (create,
pause, resume, stop in bot/campaigns/regional.py) invalidate the entry at once in this process;
other processes see them within ``TTL``.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

TTL = 2.0

_by_client: weakref.WeakKeyDictionary[Any, dict[int, tuple[float, Any]]] = weakref.WeakKeyDictionary()


async def promotion(core: Any, campaign_id: int) -> Any:
    """The core's promotion ``campaign_id`` (backend_client.models.Promotion), at most TTL old."""
    entries = _by_client.setdefault(core, {})
    found = entries.get(campaign_id)
    now = time.monotonic()
    if found is not None and found[0] > now:
        return found[1]
    fresh = await core.promotions.get(campaign_id)
    entries[campaign_id] = (now + TTL, fresh)
    return fresh


def invalidate(core: Any, campaign_id: int) -> None:
    entries = _by_client.get(core)
    if entries is not None:
        entries.pop(campaign_id, None)
