"""PostgreSQL addresses as an operator writes them, and what of them may be shown: never the password."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

# Query parameters of a PostgreSQL address that carry a secret.
_SECRET_PARAMETERS = {"password", "sslpassword"}


def without_password(url: str) -> str:
    """``url`` fit for a log line or a command line: no password, neither in the user part nor in the query."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]  # the host as written: IPv6 brackets and port kept
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k.lower() not in _SECRET_PARAMETERS])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_password(url: str) -> str | None:
    """The password ``url`` carries (user part or query), decoded as asyncpg decodes it."""
    parts = urlsplit(url)
    if parts.password is not None:
        return unquote(parts.password)
    for key, value in parse_qsl(parts.query):
        if key.lower() == "password":
            return value
    return None
