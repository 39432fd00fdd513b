"""backend_client package."""
