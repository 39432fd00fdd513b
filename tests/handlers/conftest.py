from tests.wechat.conftest import bot_client, notifier, probe  # noqa: F401 - shared fixtures
