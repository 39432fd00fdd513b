"""Multi-turn conversations as named-state machines; state lives in Redis with a TTL."""
