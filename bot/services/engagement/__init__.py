"""Engagement: the points ledger, leaderboards and profiles."""
