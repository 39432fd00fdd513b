from tests.console.console_app import console_app  # noqa: F401 - shared fixture of the console tests
