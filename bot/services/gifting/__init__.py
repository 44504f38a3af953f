"""Gifting campaigns (product seeding), the fulfilment of gifts, and members' shipping details."""
