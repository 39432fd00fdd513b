"""The analytics feature's runtime object on ``Services.analytics``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.analytics.ingest import EventStream


@dataclass(eq=False)
class AnalyticsRuntime:
    stream: EventStream
    archive: Path  # where weekly reports' HTML and PDF files are kept
    link_secret: str = ""  # signs the weekly report's pushed links (the deployment's secret key)
    retention_days: int = 400
    clock: Callable[[], float] = field(default=time.time)  # seconds; injectable in tests
