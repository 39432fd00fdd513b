"""Tenants (brands) and the WeChat apps they own."""
