"""The built-in journey definitions (YAML), loaded by `jiubot journeys defaults`."""
