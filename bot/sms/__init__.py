"""Sending SMS: the sender interface, the Aliyun and Tencent Cloud adapters (each signs its
requests the provider's documented way and maps its error codes), the per-phone / per-IP limits
on verification codes, and the factory that picks the sender from settings.

Like ``backend_client`` this is a client of a remote system: it may use aiohttp's client, and
the domain packages above it (ordering, flows) see only ``SmsSender`` and ``SmsError``.
"""
