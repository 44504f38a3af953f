"""Rules for what members and moderators type: dates in the server's timezone, links, text."""
