"""Campaigns a store can reach (issue 16): the core's flash sales (秒杀), group buys (拼单) and
descending-price auctions (拍卖) open to a store, and the store's actions on them, all through
the core's contract. The core keeps the stock and settles groups; jiubot shows, explains and
derives each action's idempotency key from its cause (message id, mini-program request key).
"""
