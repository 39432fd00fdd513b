"""Typed application keys of the simulator's aiohttp app."""

from __future__ import annotations

from typing import TYPE_CHECKING

import jinja2
from aiohttp import web

if TYPE_CHECKING:
    from wechat_sim.simulator import Simulator

SIM_STATE: web.AppKey[Simulator] = web.AppKey("wechat_sim_state")
SIM_JINJA: web.AppKey[jinja2.Environment] = web.AppKey("wechat_sim_jinja")
