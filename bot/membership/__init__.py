"""Members, their identities across WeChat apps, and (later) points, codes and tiers."""
