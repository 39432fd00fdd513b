"""Thin handlers: EventContext -> a flow or a service -> Reply. No business rules here."""
