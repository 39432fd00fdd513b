"""The sender ``JIUBOT_SMS_PROVIDER`` names, behind the per-phone / per-IP limits."""

from __future__ import annotations

import aiohttp
import redis.asyncio as aioredis

from bot.config import Settings
from bot.redis import Keys
from bot.sms.interface import SmsSender
from bot.sms.limits import LimitedSms, SmsLimiter, SmsLimits


def limits_of(settings: Settings) -> SmsLimits:
    return SmsLimits(
        per_phone_hour=settings.sms_per_phone_hour,
        per_phone_day=settings.sms_per_phone_day,
        per_ip_hour=settings.sms_per_ip_hour,
    )


def provider(settings: Settings, session: aiohttp.ClientSession) -> SmsSender | None:
    """The provider adapter, or None for the development outbox."""
    if settings.sms_provider == "aliyun":
        from bot.sms.aliyun import AliyunSms

        return AliyunSms(
            session,
            access_key_id=settings.aliyun_sms_access_key_id,
            access_key_secret=settings.aliyun_sms_access_key_secret,
            sign_name=settings.sms_sign_name,
            templates=settings.sms_templates,
            endpoint=settings.aliyun_sms_endpoint,
        )
    if settings.sms_provider == "tencent":
        from bot.sms.tencent import TencentSms

        return TencentSms(
            session,
            secret_id=settings.tencent_sms_secret_id,
            secret_key=settings.tencent_sms_secret_key,
            app_id=settings.tencent_sms_app_id,
            sign_name=settings.sms_sign_name,
            templates=settings.sms_templates,
            region=settings.tencent_sms_region,
            endpoint=settings.tencent_sms_endpoint,
        )
    return None


def limited(inner: SmsSender, settings: Settings, redis: aioredis.Redis, keys: Keys) -> LimitedSms:
    return LimitedSms(inner, SmsLimiter(redis, keys, limits_of(settings)))
