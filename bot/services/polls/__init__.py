"""Focus-group polls: creating, voting, closing and results."""
