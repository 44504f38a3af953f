"""Rewards: the catalogue members spend points on, their balance, and redemptions."""
