"""The mini-program JSON API under ``/mp/api/``: every endpoint the mini-program calls, documented
in ``openapi.yaml`` (a test keeps served routes == documented routes, and schemathesis fuzzes them).

Modules: ``auth`` (login, phone, me), ``membership`` (scan, points, member settings, referral),
``rewards``, ``coupons``, ``ordering`` (store binding, catalog), ``cart``, ``orders``; ``routes``
says which feature serves which group. The machinery they share:

* ``errors.ErrorCode`` / ``MpError``: the one error type (a stable code with its HTTP status);
  ``texts.MESSAGES``: its Chinese text. Every error is ``{"error": code, "message": 中文}`` plus the
  extra fields ``openapi.yaml`` documents for that code (``field`` for bad input ...).
* ``schemas``: a pydantic model per body and query, strict and bounded.
* ``api.api``: the one decorator: session token (401), query and body validation (400 with the
  field), the handler, and error mapping (``MpError``; core errors -> 4xx, or 503 when the core is
  unavailable), each refusal logged once.

Adding an endpoint: a model in ``schemas.py``, a handler in the module of its group, its path in
``openapi.yaml`` (with the bounds of the model and its error statuses)::

    @routes.post("/mp/api/rewards/redeem")
    @api(member=True, body=RedeemBody)
    async def redeem(request, services, *, session: MpSession, body: RedeemBody) -> dict: ...
"""
