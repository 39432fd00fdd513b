"""Errors of the automation domain."""


class AutomationError(Exception):
    pass


class InvalidDefinition(AutomationError):
    """A journey or tier-rule YAML that cannot be used; the message says why (operator-facing)."""


class UnknownJourney(AutomationError):
    pass
