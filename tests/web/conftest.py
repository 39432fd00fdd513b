from tests.web.member_app import member_app  # noqa: F401 - shared fixture of the membership page tests
