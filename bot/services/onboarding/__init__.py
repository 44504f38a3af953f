"""Onboarding: applications, the review queue's decisions, the waitlist and the roster."""
