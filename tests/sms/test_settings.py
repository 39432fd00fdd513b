"""Choosing a provider needs its keys, a signature name and a binding template."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings


def _load(**values):
    return load_settings(_env_file=None, **values)


def test_outbox_is_the_default_and_needs_nothing() -> None:
    assert _load().sms_provider == "outbox"


def test_aliyun_without_keys_names_what_is_missing() -> None:
    with pytest.raises(ConfigError) as caught:
        _load(sms_provider="aliyun", sms_templates={"bind": "SMS_1"})
    text = str(caught.value)
    assert "JIUBOT_ALIYUN_SMS_ACCESS_KEY_ID" in text and "JIUBOT_SMS_SIGN_NAME" in text


def test_tencent_needs_a_bind_template() -> None:
    with pytest.raises(ConfigError) as caught:
        _load(
            sms_provider="tencent",
            tencent_sms_secret_id="a",
            tencent_sms_secret_key="b",
            tencent_sms_app_id="1400000000",
            sms_sign_name="示例酒业",
        )
    assert "JIUBOT_SMS_TEMPLATES" in str(caught.value)


def test_a_complete_tencent_configuration_loads() -> None:
    settings = _load(
        sms_provider="tencent",
        tencent_sms_secret_id="a",
        tencent_sms_secret_key="b",
        tencent_sms_app_id="1400000000",
        sms_sign_name="示例酒业",
        sms_templates={"bind": "449739"},
    )
    assert settings.tencent_sms_endpoint == "https://sms.tencentcloudapi.com"
