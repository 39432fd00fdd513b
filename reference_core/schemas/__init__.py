"""The wire models of the core API (pydantic). The OpenAPI document is generated from them, so the
document and what the service accepts and returns cannot drift apart."""
