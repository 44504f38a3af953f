"""Affiliates: commission rules per tier, the holding period, and payout runs from statement to paid (issue 18)."""
