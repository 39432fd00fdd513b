"""The HTTP layer: a small route table that both serves requests and generates the OpenAPI document."""
