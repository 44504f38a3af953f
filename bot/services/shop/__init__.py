"""The brand's shop as Collective's data sees it: the connection's state, the discount codes give, each code's
push state. The talking to the shop itself lives in bot/shop/."""
