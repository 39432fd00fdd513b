"""The composition root's parts: ``Feature`` (what a feature contributes), ``FEATURES`` (the one
list), and ``open_runtime`` (``bot.wiring.runtime``: every runtime object built once from
``Settings``; imported from there, as it pulls in the whole stack)."""

from bot.wiring.feature import Feature, Remotes, Runtime

__all__ = ["Feature", "Remotes", "Runtime"]
