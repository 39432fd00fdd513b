"""reference_core package."""
