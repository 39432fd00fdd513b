"""Imports every model module so ``Base.metadata`` is complete (alembic env, create_all in tests)."""

from bot.analytics import models as analytics_models
from bot.automation import models as automation_models
from bot.campaigns import models as regional_models
from bot.console import models as console_models
from bot.console import org_models as console_org_models
from bot.content import models as content_models
from bot.db import Base
from bot.membership import models as membership_models
from bot.messaging import models as messaging_models
from bot.messaging import outbound_models as outbound_models
from bot.ordering import models as ordering_models
from bot.tenancy import models as tenancy_models
from bot.wechat import models as wechat_models

__all__ = [
    "Base",
    "analytics_models",
    "automation_models",
    "console_models",
    "console_org_models",
    "content_models",
    "membership_models",
    "messaging_models",
    "ordering_models",
    "regional_models",
    "tenancy_models",
    "wechat_models",
]
