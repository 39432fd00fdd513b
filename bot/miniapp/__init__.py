"""The mini-program JSON API under /mp/api/: code2session login and jiubot's own session tokens."""
