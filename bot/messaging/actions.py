from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messaging.interface import Receipt
from bot.messaging.models import DeliveryReceipt


async def record_receipts(
    session: AsyncSession, tenant_id: int, appid: str, openid: str, receipts: Iterable[Receipt]
) -> int:
    count = 0
    for r in receipts:
        session.add(
            DeliveryReceipt(
                tenant_id=tenant_id,
                appid=appid,
                openid=openid,
                kind=r.kind,
                msgid=r.msgid,
                template_id=r.template_id,
                status=r.status[:64],
                detail=r.detail[:256],
            )
        )
        count += 1
    await session.flush()
    return count
