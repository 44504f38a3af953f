"""Content: briefs, behind-the-scenes drops, submissions and their review."""
