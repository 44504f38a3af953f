"""The /apply form: each answer checked (length, http(s) profile links, order number or email).

The modal's own length limits are only a hint to the client, so the service checks everything again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.errors import InvalidInput
from bot.services.inputs.typed_text import refuse_nul

LIMITS = {"social": 400, "niche": 100, "why": 1000, "contact": 100, "city": 100}
MAX_LINKS = 5
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_ORDER = re.compile(r"^#?[A-Za-z0-9-]{1,40}$")


@dataclass(frozen=True)
class ApplicationForm:
    social_links: list[str]
    niche: str
    why: str
    order_ref: str | None
    email: str | None
    city: str | None


def _text(value: str | None, key: str, label: str, *, required: bool, minimum: int = 1) -> str | None:
    text = (value or "").strip()
    refuse_nul(f"“{label}”", text)
    if not text:
        if required:
            raise InvalidInput(f"Please fill in “{label}”.")
        return None
    if len(text) > LIMITS[key]:
        raise InvalidInput(f"“{label}” is too long: {len(text)} characters, {LIMITS[key]} at most.")
    if len(text) < minimum:
        raise InvalidInput(f"Tell us a little more in “{label}” (at least {minimum} characters).")
    return text


def parse_links(value: str) -> list[str]:
    links = [part for part in re.split(r"[\s,]+", value.strip()) if part]
    if not links:
        raise InvalidInput("Please add at least one social profile link.")
    if len(links) > MAX_LINKS:
        raise InvalidInput(f"Up to {MAX_LINKS} profile links, please.")
    for link in links:
        try:
            parts = urlsplit(link)
        except ValueError:  # e.g. an unclosed "[" (IPv6 host)
            parts = urlsplit("")
        if parts.scheme.lower() not in ("http", "https") or "." not in parts.netloc or "@" in parts.netloc:
            raise InvalidInput(f"`{link[:80]}` isn't a web link; profile links start with https://")
    return links


def validate_form(social: str, niche: str, why: str, contact: str | None, city: str | None) -> ApplicationForm:
    social_text = _text(social, "social", "Social profile link(s)", required=True)
    assert social_text is not None
    niche_text = _text(niche, "niche", "Content niche", required=True, minimum=2)
    why_text = _text(why, "why", "Why you love the brand", required=True, minimum=10)
    contact_text = _text(contact, "contact", "Order number or email", required=False)
    city_text = _text(city, "city", "City or region", required=False)
    email = order_ref = None
    if contact_text is not None:
        if "@" in contact_text:
            if not _EMAIL.fullmatch(contact_text):
                raise InvalidInput("That email address doesn't look right.")
            email = contact_text.lower()
            order_ref = email
        elif _ORDER.fullmatch(contact_text):
            order_ref = contact_text.lstrip("#")
        else:
            raise InvalidInput("Give an order number (like #1042) or the email you ordered with.")
    assert niche_text is not None and why_text is not None
    return ApplicationForm(parse_links(social_text), niche_text, why_text, order_ref, email, city_text)
