"""Typed configuration: a TOML file with environment overrides.

Precedence, highest first: ``DISCORD_TOKEN``, ``COLLECTIVE_<SECTION>__<KEY>`` variables, the TOML file,
the defaults below. Every model forbids unknown keys so a typo fails loudly instead of being ignored.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.errors import ConfigError
from bot.sharding import MAX_SHARDS, ShardPlan, parse_shard_ids
from bot.storage.addresses import url_password, without_password

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CODE_PREFIX_RE = re.compile(r"^[A-Z0-9]{0,8}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _blank_is_missing(value: object) -> object:
    # config.example.toml ships `shopify_secret = ""`: as a value it passed every check and then failed every
    # signature, so a blank secret (or token, or key) is treated as none at all.
    return None if isinstance(value, str) and not value.strip() else value


def _http_base(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return None if value is None else value.rstrip("/")


Secret = Annotated[SecretStr | None, BeforeValidator(_blank_is_missing)]
HttpBase = Annotated[str | None, AfterValidator(_http_base)]  # an http(s) address, without its trailing slash


class DiscordSettings(_Section):
    token: SecretStr | None = None
    sync_guild_ids: list[int] = Field(default_factory=list)
    api_base_url: str = DISCORD_API_BASE
    gateway_url: str = DISCORD_GATEWAY
    # discord.py waits this long after the last server arrives before it calls the bot ready (its default,
    # 2 s, suits bots in thousands of servers; a program's bot is in a few, which arrive back to back).
    guild_ready_timeout: float = Field(default=0.5, ge=0.1, le=60)

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("gateway_url")
    @classmethod
    def _ws_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value


class DatabaseSettings(_Section):
    path: Path = Path("data/collective.db")
    # PostgreSQL instead of the SQLite file at `path`: postgresql://user:password@host:5432/collective. A secret
    # (it carries the password): set it as COLLECTIVE_DATABASE__URL rather than in the file.
    url: Secret = None
    backup_dir: Path | None = None
    backup_keep: int = Field(default=7, ge=1, le=365)

    @field_validator("url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a PostgreSQL address: postgresql://user:password@host:5432/database")
        return value

    @classmethod
    def at(cls, target: Path | str) -> DatabaseSettings:
        """Settings for what ``Database.open`` takes: a PostgreSQL address, or the path of a SQLite file."""
        if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
            return cls(url=SecretStr(target))
        return cls(path=Path(target))

    def target(self) -> Path | str:
        """What ``Database.open`` takes: the PostgreSQL address when one is set, else the SQLite file."""
        return self.url.get_secret_value() if self.url is not None else self.path

    def where(self) -> str:
        """The store, fit for a log line: the SQLite file, or the PostgreSQL address without its password."""
        if self.url is None:
            return str(self.path)
        return without_password(self.url.get_secret_value())

    @field_validator("backup_dir", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if value == "" else value


class WebhookSettings(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    shopify_secret: Secret = None
    woocommerce_secret: Secret = None
    generic_secret: Secret = None
    # The address shops deliver to, as the world sees it (the TLS proxy in front of host:port), e.g.
    # https://collective.example.com — `shop webhooks` registers <public_url>/webhooks/shopify/<server id>.
    public_url: str | None = None

    @field_validator("public_url", mode="before")
    @classmethod
    def _public_https(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, str):
            local = value.startswith(("http://127.0.0.1", "http://localhost"))  # a test or the demo only
            if not (value.startswith("https://") or local):
                raise ValueError("must start with https:// (shops deliver only to HTTPS addresses)")
            return value.rstrip("/")
        return value

    def missing_secrets(self) -> dict[str, str]:
        """Endpoint path → the config key whose secret is missing; those endpoints are not served."""
        return {
            f"/webhooks/{endpoint}": f"webhooks.{key}"
            for endpoint, key, secret in (
                ("shopify", "shopify_secret", self.shopify_secret),
                ("woocommerce", "woocommerce_secret", self.woocommerce_secret),
                ("orders", "generic_secret", self.generic_secret),
            )
            if secret is None
        }


SHOPIFY_DOMAIN_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.myshopify\.com$")
SHOPIFY_API_VERSION = "2025-01"  # the version whose schema the bot's queries are checked against
# What the bot asks of a Shopify store (the app's Admin API access scopes; README "Connecting your shop").
SHOPIFY_SCOPES = ("write_discounts", "read_orders", "read_products")


class ShopifyConnection(_Section):
    """One brand server's Shopify store: the Admin API of an app the brand created for its own store."""

    platform: Literal["shopify"] = "shopify"
    shop_domain: str
    access_token: Secret = None  # from the environment: COLLECTIVE_SHOPS__<server id>__ACCESS_TOKEN
    api_version: str = SHOPIFY_API_VERSION
    # Where the Admin API lives; only a test or the demo points it elsewhere (the fake shop).
    admin_url: HttpBase = None

    @field_validator("shop_domain")
    @classmethod
    def _myshopify(cls, value: str) -> str:
        domain = value.strip().lower().removeprefix("https://").rstrip("/")
        if not SHOPIFY_DOMAIN_RE.fullmatch(domain):
            raise ValueError("must be the shop's *.myshopify.com domain, e.g. glow-skincare.myshopify.com")
        return domain

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"20\d\d-(01|04|07|10)", value):
            raise ValueError("must be a Shopify API version such as 2025-01 (January, April, July or October)")
        return value

    @property
    def graphql_url(self) -> str:
        base = self.admin_url or f"https://{self.shop_domain}"
        return f"{base}/admin/api/{self.api_version}/graphql.json"


class WooCommerceConnection(_Section):
    """One brand server's WooCommerce store: its REST API (``/wp-json/wc/v3``) with a Read/Write API key."""

    platform: Literal["woocommerce"]
    store_url: str  # the WordPress site's address, e.g. https://shop.example.com
    # From the environment: COLLECTIVE_SHOPS__<server id>__CONSUMER_KEY / __CONSUMER_SECRET.
    consumer_key: Secret = None
    consumer_secret: Secret = None
    # Where the REST API is called instead of store_url; only a test or the demo sets it (the fake shop, over http).
    api_url: HttpBase = None

    @field_validator("store_url")
    @classmethod
    def _https_site(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme.lower() != "https" or not parts.hostname or parts.query or parts.fragment:
            # Over plain http WooCommerce refuses keys sent as HTTP Basic (it wants OAuth 1.0a signatures there),
            # and the keys would cross the network readable.
            raise ValueError("must be the store's https:// address, e.g. https://shop.example.com")
        # A WordPress site may live in a folder (https://example.com/shop); the host is case-insensitive.
        return f"https://{parts.netloc.lower()}{parts.path.rstrip('/')}"

    @property
    def rest_url(self) -> str:
        """The REST API's root: every route the bot calls hangs below it."""
        return f"{self.api_url or self.store_url}/wp-json/wc/v3"

    @property
    def label(self) -> str:
        """The store's address without the scheme: safe to show and log, like a Shopify domain."""
        return self.store_url.removeprefix("https://")


def _platform_of(value: Any) -> str:
    """Which connection a ``[shops.<id>]`` section is: its ``platform`` key, Shopify when it has none (the
    sections written before WooCommerce arrived)."""
    if isinstance(value, dict):
        return str(value.get("platform", "shopify"))
    return str(getattr(value, "platform", "shopify"))


ShopConnectionConfig = Annotated[
    Annotated[ShopifyConnection, Tag("shopify")] | Annotated[WooCommerceConnection, Tag("woocommerce")],
    Discriminator(
        _platform_of, custom_error_type="shop_platform", custom_error_message="must be shopify or woocommerce"
    ),
]
PLATFORM_TAGS = ("shopify", "woocommerce")


class PointValues(_Section):
    submission_approved: int = Field(default=50, ge=0, le=10_000)
    sale: int = Field(default=20, ge=0, le=10_000)
    poll_vote: int = Field(default=5, ge=0, le=10_000)
    event_attendance: int = Field(default=30, ge=0, le=10_000)


class ProgramDefaults(_Section):
    """Defaults copied into a server's settings the first time the bot sees it."""

    timezone: str = "UTC"
    digest_weekday: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    digest_time: time = time(9, 0)
    capacity: int = Field(default=30, ge=1, le=100_000)
    code_prefix: str = ""
    points: PointValues = Field(default_factory=PointValues)
    grace_window_hours: int = Field(default=24, ge=0, le=24 * 14)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/London)") from exc
        return value

    @field_validator("code_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not CODE_PREFIX_RE.fullmatch(value):
            raise ValueError("must be 0-8 uppercase letters or digits")
        return value


class LimitSettings(_Section):
    """Per-member rate limits on commands and buttons (a token bucket per member and server)."""

    member_burst: int = Field(default=15, ge=1, le=1000)
    member_per_second: float = Field(default=1.0, gt=0, le=100)
    moderator_burst: int = Field(default=40, ge=1, le=1000)
    moderator_per_second: float = Field(default=5.0, gt=0, le=100)


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # "json": one JSON object per line, for container log collectors.
    format: Literal["text", "json"] = "text"


class ShardingSettings(_Section):
    """Several processes, each with some of the bot's shards, over one PostgreSQL database (README, Running
    several processes). Empty: one process connects every shard Discord recommends."""

    shards: str | None = None  # e.g. "0-3" or "0,2,4-5"; needs shard_count
    shard_count: int | None = Field(default=None, ge=1, le=MAX_SHARDS)
    # Wait while another process holds these shards, and take them over within seconds of its end.
    standby: bool = False
    # How long a claim on a timer, job period or outbox row stays someone's without renewal (renewed every third).
    lease_seconds: float = Field(default=30.0, ge=3, le=3600)

    @field_validator("shards", mode="before")
    @classmethod
    def _shard_list(cls, value: object) -> object:
        if isinstance(value, int):
            value = str(value)
        if isinstance(value, str):
            if not value.strip():
                return None
            parse_shard_ids(value)  # raises with a sentence
        return value

    @field_validator("shard_count", mode="before")
    @classmethod
    def _zero_is_unset(cls, value: object) -> object:
        return None if value in (0, "0", "") else value  # TOML has no null: 0 means Discord's recommendation

    @model_validator(mode="after")
    def _consistent(self) -> ShardingSettings:
        self.plan()  # a shard beyond the count, or shards without a count: one sentence at load
        return self

    def plan(self) -> ShardPlan:
        ids = parse_shard_ids(self.shards) if self.shards is not None else None
        return ShardPlan(ids, self.shard_count)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid",
        env_prefix="COLLECTIVE_",
        env_nested_delimiter="__",
        nested_model_default_partial_update=True,
    )

    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    program: ProgramDefaults = Field(default_factory=ProgramDefaults)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    sharding: ShardingSettings = Field(default_factory=ShardingSettings)
    # Keyed by the Discord server id: [shops.123456789012345678] in the TOML file.
    shops: dict[int, ShopConnectionConfig] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init kwargs; the environment must win over it.
        return (_DiscordTokenSource(settings_cls), env_settings, init_settings)

    def secrets(self) -> list[str]:
        """Every secret value, so logging can redact them."""
        found: list[str] = []
        for secret in (
            self.discord.token,
            self.webhooks.shopify_secret,
            self.webhooks.woocommerce_secret,
            self.webhooks.generic_secret,
            *(shop.access_token for shop in self.shops.values() if isinstance(shop, ShopifyConnection)),
            *(
                secret
                for shop in self.shops.values()
                if isinstance(shop, WooCommerceConnection)
                for secret in (shop.consumer_key, shop.consumer_secret)
            ),
        ):
            if secret is not None and secret.get_secret_value():
                found.append(secret.get_secret_value())
        if self.database.url is not None:
            url = self.database.url.get_secret_value()
            password = url_password(url)
            if password:  # without one, the address is what every start line shows (database.where())
                found += [url, password, quote(password, safe="")]  # as written in the address, and decoded
        return found


class _DiscordTokenSource(PydanticBaseSettingsSource):
    """``DISCORD_TOKEN`` is the conventional name; accept it without the prefix."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        token = os.environ.get("DISCORD_TOKEN")
        return {"discord": {"token": token}} if token else {}


def load_settings(path: Path | str | None) -> Settings:
    """Read ``path`` (missing file allowed only when ``path`` is None) and apply the environment."""
    data: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        if not file.exists():
            raise ConfigError(f"config file {file} not found (copy config.example.toml to start)")
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One short line per problem, naming the key as it is written in the TOML file."""
    lines = []
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        if len(loc) > 2 and loc[0] == "shops" and loc[2] in PLATFORM_TAGS:
            del loc[2]  # the union's branch, not a key anyone writes: shops.<id>.store_url
        if err["type"] == "shop_platform":
            loc.append("platform")
        key = ".".join(loc)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{key}: {message}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def weekday_index(name: str) -> int:
    return WEEKDAYS.index(name)
