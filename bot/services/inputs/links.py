"""What members hand in: links (checked, labelled by platform, normalised for duplicates) and uploads."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.errors import InvalidInput

MAX_LINK_LENGTH = 2048
GENERIC = "link"

# Host suffix → platform label. A suffix matches the host itself or any subdomain of it.
_PLATFORMS: tuple[tuple[str, str], ...] = (
    ("instagram.com", "Instagram"),
    ("instagr.am", "Instagram"),
    ("tiktok.com", "TikTok"),
    ("youtube.com", "YouTube"),
    ("youtu.be", "YouTube"),
    ("x.com", "X"),
    ("twitter.com", "X"),
    ("threads.net", "Threads"),
    ("threads.com", "Threads"),
    ("facebook.com", "Facebook"),
    ("fb.watch", "Facebook"),
    ("fb.com", "Facebook"),
    ("pinterest.com", "Pinterest"),
    ("pin.it", "Pinterest"),
    ("medium.com", "Blog"),
    ("substack.com", "Blog"),
    ("wordpress.com", "Blog"),
    ("blogspot.com", "Blog"),
    ("tumblr.com", "Blog"),
    ("ghost.io", "Blog"),
)
# Query parameters that only track where a click came from; dropping them makes duplicates visible.
_TRACKING = {"fbclid", "gclid", "igshid", "igsh", "si", "feature", "_r", "_t", "ref", "ref_src", "s", "t"}


@dataclass(frozen=True)
class CheckedLink:
    url: str  # as given (trimmed)
    key: str  # normalised, for the duplicate check
    platform: str  # 'TikTok', 'Instagram', …, 'Blog' or 'link'


def check_link(raw: str) -> CheckedLink:
    """An http(s) link of at most 2048 characters, labelled by platform; anything else is refused."""
    url = (raw or "").strip()
    if not url:
        raise InvalidInput("Please give the link to your content (https://…).")
    if len(url) > MAX_LINK_LENGTH:
        raise InvalidInput(f"That link is {len(url)} characters long; links can be at most {MAX_LINK_LENGTH}.")
    if any(ch.isspace() for ch in url):
        raise InvalidInput("That link contains spaces. Paste just the link, e.g. https://www.tiktok.com/@you/video/1.")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 — raises ValueError for a malformed port
    except ValueError:
        raise InvalidInput(
            "That isn't a valid link. It should look like https://www.tiktok.com/@you/video/1."
        ) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("Links must start with http:// or https://.")
    if not host or "." not in host.strip(".") or parts.username or parts.password:
        raise InvalidInput("That link has no valid website in it. It should look like https://www.tiktok.com/….")
    return CheckedLink(url=url, key=_normalise(parts.scheme, host, parts.path, parts.query), platform=platform_of(host))


def platform_of(host: str) -> str:
    host = host.lower().rstrip(".")
    for suffix, label in _PLATFORMS:
        if host == suffix or host.endswith("." + suffix):
            return label
    if "blog" in host.split(".")[0] or host.startswith("blog."):
        return "Blog"
    return GENERIC


def _normalise(scheme: str, host: str, path: str, query: str) -> str:
    for prefix in ("www.", "m.", "mobile."):
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
            break
    kept = sorted(
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k.lower() not in _TRACKING and not k.startswith("utm_")
    )
    del scheme  # http and https copies of one page are the same content
    return urlunsplit(("https", host, path.rstrip("/") or "/", urlencode(kept), ""))


# -- uploads ------------------------------------------------------------------------------------------

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
CONTENT_TYPES = (*IMAGE_TYPES, "video/mp4", "video/quicktime", "video/webm", "application/pdf")


def check_upload(filename: str, content_type: str | None, size: int, size_limit: int, allowed: tuple[str, ...]) -> str:
    """The upload's content type when it is one we accept and within Discord's size limit for this server."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in allowed:
        readable = ", ".join(sorted({t.split("/")[1].upper() for t in allowed}))
        raise InvalidInput(
            f"`{filename[:80]}` is a file type I can't take ({kind or 'unknown'}). Accepted: {readable}."
        )
    if size > size_limit:
        raise InvalidInput(
            f"`{filename[:80]}` is {size / 1_048_576:.1f} MB; this server accepts files up to "
            f"{size_limit / 1_048_576:.0f} MB."
        )
    return kind
