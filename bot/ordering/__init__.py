"""Chat ordering services over the core ordering API: product matching, carts, quotes, orders."""
