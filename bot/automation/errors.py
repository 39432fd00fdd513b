"""Errors of the automation domain."""


class AutomationError(Exception):
    pass


class InvalidDefinition(AutomationError):
    """A journey or tier-rule YAML that cannot be used; the message says why (operator-facing,
    English, for the CLI); ``code`` (and ``step``, the step's id) let the console say it in
    Chinese (templates/console/journey_errors.j2)."""

    def __init__(self, message: str, *, code: str = "invalid", step: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.step = step


class UnknownJourney(AutomationError):
    pass
