"""Members' shipping details: personal data, handled as such.

What a member types in the private shipping form is checked here (``check_form``) and kept in one row per member
and server. It is read only to ship: by the order push to the store, by the moderators' fulfilment queue and its CSV
(the only export that carries it), and by the member themselves. It is never copied into an outbox payload, an
audit entry, a log line or an error message — errors name the field, never echo the value.

It is kept only while something of the member's still has to be shipped, then ``retention_days`` more (a program
setting, 30 by default), and erased by the daily job (``purge_expired``); ``/ambassador forget`` erases it at once
(``forget``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.clock import to_db
from bot.db import Database, Transaction
from bot.errors import InvalidInput
from bot.services.gifting import fulfilment
from bot.services.gifting.addresses import ShippingDetails

# ISO 3166-1 alpha-2: what shops take as a country (Shopify's CountryCode, WooCommerce's country).
_CODES = """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY
    BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
    JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE
    RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT
    TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW"""
COUNTRIES = frozenset(_CODES.split())
ALIASES = {"UK": "GB", "EL": "GR"}  # what people type for the United Kingdom and Greece
NAME_MAX, LINE_MAX, CITY_MAX, POSTAL_MAX, PHONE_MAX = 100, 100, 60, 12, 25
_POSTAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 \-]{1,11}")
_PHONE = re.compile(r"\+?[0-9 ()\-./]{6,24}")


def _clean(value: str | None, what: str, limit: int, *, required: bool = True) -> str | None:
    text = " ".join((value or "").split())  # control characters and runs of spaces become one space
    if "\x00" in text or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        raise InvalidInput(f"The {what} contains characters that can't be printed on a label; please retype it.")
    if not text:
        if required:
            raise InvalidInput(f"Please fill in the {what}.")
        return None
    if len(text) > limit:
        raise InvalidInput(f"The {what} is too long ({limit} characters at most).")
    return text


def check_form(name: str, address: str, city: str, postal_code: str, country: str) -> ShippingDetails:
    """The private form's fields, checked: the address is one or two lines (street, then apartment or suite)."""
    checked_name = _clean(name, "name", NAME_MAX)
    assert checked_name is not None
    if not any(ch.isalpha() for ch in checked_name):
        raise InvalidInput("Please give the name the parcel should be addressed to.")
    lines = [line for line in (address or "").splitlines() if line.strip()]
    if len(lines) > 2:
        raise InvalidInput("Give the address on one or two lines: the street, then the apartment or suite.")
    line1 = _clean(lines[0] if lines else "", "address", LINE_MAX)
    line2 = _clean(lines[1], "second address line", LINE_MAX) if len(lines) == 2 else None
    checked_city = _clean(city, "city", CITY_MAX)
    postal = _clean(postal_code, "postal code", POSTAL_MAX)
    assert line1 is not None and checked_city is not None and postal is not None
    if not _POSTAL.fullmatch(postal):
        raise InvalidInput("The postal code is 2–12 letters, digits, spaces or dashes (e.g. 10115 or SW1A 1AA).")
    code = (_clean(country, "country", 20) or "").upper()
    code = ALIASES.get(code, code)
    if code not in COUNTRIES:
        raise InvalidInput("The country is its two-letter code, e.g. DE, FR, GB or US.")
    return ShippingDetails(checked_name, line1, line2, checked_city, postal.upper(), code)


def check_phone(phone: str) -> str | None:
    """An optional phone number for the courier (empty: none)."""
    text = _clean(phone, "phone number", PHONE_MAX, required=False)
    if text is None:
        return None
    if not _PHONE.fullmatch(text) or sum(ch.isdigit() for ch in text) < 6:
        raise InvalidInput("The phone number is digits with an optional + at the start (e.g. +49 30 1234567).")
    return text


async def save_details(
    tx: Transaction, guild_id: int, user_id: int, details: ShippingDetails, now: datetime
) -> list[fulfilment.Gift]:
    """Keep the member's details (replacing earlier ones; a phone given before stays unless a new one is);
    returns what was waiting for them and is now ready to ship."""
    await tx.execute(
        """INSERT INTO shipping_details (guild_id, user_id, name, line1, line2, city, postal_code, country, phone,
               updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (guild_id, user_id) DO UPDATE SET name = excluded.name, line1 = excluded.line1,
               line2 = excluded.line2, city = excluded.city, postal_code = excluded.postal_code,
               country = excluded.country, phone = COALESCE(excluded.phone, shipping_details.phone),
               updated_at = excluded.updated_at""",
        (guild_id, user_id, details.name, details.line1, details.line2, details.city, details.postal_code,
         details.country, details.phone, to_db(now)),
    )  # fmt: skip
    return await fulfilment.address_given(tx, guild_id, user_id, now)


async def save_phone(tx: Transaction, guild_id: int, user_id: int, phone: str | None, now: datetime) -> bool:
    """Set (or, with None, remove) the phone number; False when the member has no details to add it to."""
    changed = await tx.execute(
        "UPDATE shipping_details SET phone = ?, updated_at = ? WHERE guild_id = ? AND user_id = ?",
        (phone, to_db(now), guild_id, user_id),
    )
    return changed == 1


async def forget(tx: Transaction, guild_id: int, user_id: int, now: datetime) -> int:
    """``/ambassador forget``: the details are erased now, and what still waited for them is cancelled (there is
    no address to send it to; a reward's points come back); tracking links and the like go from the gifts. Returns
    how many gifts were cancelled."""
    await tx.execute("DELETE FROM shipping_details WHERE guild_id = ? AND user_id = ?", (guild_id, user_id))
    cancelled = await fulfilment.cancel_unsent(tx, guild_id, user_id, now, "your data was erased on request")
    # A tracking link leads to the address; an order's name and the shop's words may too. An order the store still
    # ships keeps what the hourly follow-up needs to read it.
    await tx.execute(
        """UPDATE gifts SET tracking_url = NULL, error = NULL, cancel_reason = NULL,
               order_name = CASE WHEN route = 'shop' AND state IN ('ordered', 'shipped') THEN order_name ELSE NULL END
           WHERE guild_id = ? AND user_id = ? AND NOT (route = 'shop' AND state IN ('ordered', 'shipped'))""",
        (guild_id, user_id),
    )
    return cancelled


async def retention_days(db: Database | Transaction, guild_id: int) -> int:
    value = await db.fetchval("SELECT shipping_retention_days FROM guild_settings WHERE guild_id = ?", (guild_id,))
    return 30 if value is None else int(value)


async def purge_expired(tx: Transaction, guild_id: int, now: datetime) -> int:
    """Erase the details of members with nothing left to ship whose last gift went out (or whose details were
    last given) more than the retention period ago. Returns how many members' details were erased."""
    cutoff = to_db(now - timedelta(days=await retention_days(tx, guild_id)))
    return await tx.execute(
        """DELETE FROM shipping_details WHERE guild_id = ? AND updated_at < ?
             AND NOT EXISTS (SELECT 1 FROM gifts g WHERE g.guild_id = shipping_details.guild_id
                             AND g.user_id = shipping_details.user_id
                             AND (g.state IN ('awaiting_address', 'ready', 'ordered') OR g.finished_at >= ?))""",
        (guild_id, cutoff, cutoff),
    )


async def holders(db: Database, guild_id: int) -> int:
    """How many members' details are kept (for moderators: a count, never the details)."""
    return int(await db.fetchval("SELECT COUNT(*) FROM shipping_details WHERE guild_id = ?", (guild_id,)))
