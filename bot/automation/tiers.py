"""Store tiers 战略 / 核心 / 潜力 by configurable rules, per tenant and optionally per region.

Rules are YAML: an ordered list, the first tier whose every condition holds wins, the last one
is the default (it should have no conditions)::

    tiers:
      - name: 战略
        min_monetary_fen: 5000000     # spend in the last 365 days
        min_frequency: 12             # orders in the last 365 days
      - name: 核心
        min_monetary_fen: 1000000
        min_frequency: 4
        aroma: {酱香: 0.5}             # optional: category preference, minimum share of spend
      - name: 潜力
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from bot.automation.errors import InvalidDefinition
from bot.automation.profiles import Facts

STRATEGIC, CORE, POTENTIAL = "战略", "核心", "潜力"

DEFAULT_RULES = f"""
tiers:
  - name: {STRATEGIC}
    min_monetary_fen: 5000000
    min_frequency: 12
  - name: {CORE}
    min_monetary_fen: 1000000
    min_frequency: 4
  - name: {POTENTIAL}
"""


@dataclass(frozen=True)
class TierRule:
    name: str
    min_monetary_fen: int = 0
    min_frequency: int = 0
    max_recency_days: int | None = None
    aroma: dict[str, float] = field(default_factory=dict)

    def holds(self, f: Facts) -> bool:
        if f.monetary_fen < self.min_monetary_fen or f.frequency < self.min_frequency:
            return False
        if self.max_recency_days is not None and (
            f.recency_days is None or f.recency_days > self.max_recency_days
        ):
            return False
        return all(f.aroma.get(name, 0.0) >= share for name, share in self.aroma.items())

    def describe(self) -> str:
        parts = []
        if self.min_monetary_fen:
            parts.append(f"monetary>={self.min_monetary_fen}")
        if self.min_frequency:
            parts.append(f"frequency>={self.min_frequency}")
        if self.max_recency_days is not None:
            parts.append(f"recency<={self.max_recency_days}")
        parts.extend(f"{k}>={v}" for k, v in self.aroma.items())
        return f"{self.name}: " + (", ".join(parts) or "default")


@dataclass(frozen=True)
class TierRules:
    rules: tuple[TierRule, ...]

    @classmethod
    def parse(cls, text: str) -> TierRules:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidDefinition(f"tier rules are not YAML: {exc}") from exc
        items = raw.get("tiers") if isinstance(raw, dict) else None
        if not isinstance(items, list) or not items:
            raise InvalidDefinition("tier rules need a non-empty 'tiers' list")
        rules = []
        allowed = {"name", "min_monetary_fen", "min_frequency", "max_recency_days", "aroma"}
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise InvalidDefinition("every tier needs a name")
            unknown = set(item) - allowed
            if unknown:
                raise InvalidDefinition(f"tier {item['name']}: unknown keys {sorted(unknown)}")
            rules.append(
                TierRule(
                    name=item["name"],
                    min_monetary_fen=int(item.get("min_monetary_fen", 0)),
                    min_frequency=int(item.get("min_frequency", 0)),
                    max_recency_days=item.get("max_recency_days"),
                    aroma={str(k): float(v) for k, v in (item.get("aroma") or {}).items()},
                )
            )
        return cls(tuple(rules))

    def assign(self, f: Facts) -> tuple[str, str]:
        """(tier, the rule that decided it)."""
        for rule in self.rules:
            if rule.holds(f):
                return rule.name, rule.describe()
        last = self.rules[-1]
        return last.name, last.describe()


DEFAULT = TierRules.parse(DEFAULT_RULES)
