"""Command line: ``collective`` (or ``python -m bot``) ``run [--shards 0-3 --shard-count 8 --standby] | webhooks |
migrate | check-config | health | backup OUT | restore BACKUP | migrate-store --to URL | demo``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import discord

from bot.backups import RestoreError, restore, run_lock
from bot.config import Settings, ShardingSettings, load_settings
from bot.db import Database
from bot.errors import ConfigError, DatabaseCollation, DatabaseTooNew
from bot.preflight import storage_problems, webhook_problems
from bot.running import StopSignals, check_health, health_path, heartbeat, wait_for_discord
from bot.shard_locks import ShardLocks

if TYPE_CHECKING:
    from bot.app import CollectiveBot

log = logging.getLogger("collective")

NO_TOKEN_HELP = """\
No Discord bot token is configured.

  1. Open https://discord.com/developers/applications and create an application.
  2. Under Bot, press Reset Token and copy it; turn on the Server Members Intent.
  3. Put it in the environment (export DISCORD_TOKEN=...) or in config.toml under [discord] token.

To watch Collective work without a Discord account, run: {prog} demo"""


def _prog() -> str:
    """The name this was invoked by: ``collective`` from the console script, ``python -m bot`` otherwise."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "python -m bot" if name in ("", "__main__.py", "-c") else name


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="TOML configuration file (default: config.toml; environment variables override it)",
    )
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="Collective: a Discord bot that runs a brand's ambassador community.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shards = argparse.ArgumentParser(add_help=False)
    shards.add_argument(
        "--shards", default=argparse.SUPPRESS, metavar="IDS",
        help="run only these shards, e.g. 0-3 or 0,2 (with --shard-count; several processes need PostgreSQL)",
    )  # fmt: skip
    shards.add_argument(
        "--shard-count", type=int, default=argparse.SUPPRESS, metavar="N", help="how many shards the bot has in all"
    )
    shards.add_argument(
        "--standby", action="store_true", default=argparse.SUPPRESS,
        help="wait while another process runs these shards; take over within seconds when it stops",
    )  # fmt: skip
    sub.add_parser("run", parents=[common, shards], help="connect to Discord and run the bot")
    sub.add_parser(
        "webhooks",
        parents=[common],
        help="run only the order-webhook server (a public tier beside the shard processes; needs PostgreSQL)",
    )
    sub.add_parser("migrate", parents=[common], help="apply pending database migrations and exit")
    sub.add_parser("check-config", parents=[common], help="validate the configuration and the data folders, and exit")
    sub.add_parser(
        "health",
        parents=[common, shards],
        help="exit 0 if the bot running on this database (and these shards) is alive (for HEALTHCHECK)",
    )
    backup = sub.add_parser("backup", parents=[common], help="write an online backup of the database")
    backup.add_argument("out", type=Path, help="where to write the copy, e.g. backups/collective-2026-11-24.db")
    backup.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    restore_cmd = sub.add_parser(
        "restore", parents=[common], help="replace the database with a backup (the bot must be stopped)"
    )
    restore_cmd.add_argument("backup", type=Path, help="a file written by `backup` or the daily backup")
    move = sub.add_parser(
        "migrate-store",
        parents=[common],
        help="copy the SQLite database into PostgreSQL, checked and resumable (the bot must be stopped)",
    )
    move.add_argument(
        "--to",
        required=True,
        type=_postgres_url,
        metavar="URL",
        help="the PostgreSQL database, postgresql://user@host:5432/collective (the password may come from PGPASSWORD)",
    )
    shop = sub.add_parser("shop", parents=[common], help="the brand's shop connection")
    shop_sub = shop.add_subparsers(dest="shop_command", required=True, metavar="SHOP_COMMAND")
    shop_sub.add_parser("check", parents=[common], help="check each [shops.<server id>]: reachable, token, scopes")
    shop_sub.add_parser(
        "webhooks", parents=[common], help="register the order and refund webhooks in each shop (once) and list them"
    )
    demo = sub.add_parser("demo", parents=[common], help="play a scripted week against a local Discord emulator")
    demo.add_argument("--quiet", action="store_true", help="print only the transcript, no bot logs")
    return parser


def _postgres_url(value: str) -> str:
    if not value.startswith(("postgresql://", "postgres://")):
        raise argparse.ArgumentTypeError("must be a PostgreSQL address: postgresql://user@host:5432/database")
    return value


def _load(args: argparse.Namespace) -> Settings:
    path: Path | None = getattr(args, "config", None)
    if path is None:
        default = Path("config.toml")
        path = default if default.exists() else None
    settings = load_settings(path)
    given = {
        key: getattr(args, name)
        for name, key in (("shards", "shards"), ("shard_count", "shard_count"), ("standby", "standby"))
        if hasattr(args, name)
    }
    if given:  # the command line overrides [sharding], checked as the file is
        try:
            sharding = ShardingSettings.model_validate({**settings.sharding.model_dump(), **given})
        except ValueError as exc:
            raise ConfigError(f"--shards/--shard-count: {_first_error(exc)}") from None
        settings = settings.model_copy(update={"sharding": sharding})
    return settings


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return str(errors()[0]["msg"]).removeprefix("Value error, ")
    return str(exc)


def _sharding_problems(settings: Settings) -> list[str]:
    """Several processes share one store only through PostgreSQL (SQLite is one process's file)."""
    sharding = settings.sharding
    if settings.database.url is not None:
        return []
    problems = []
    if not sharding.plan().owns_all:
        problems.append(
            f"sharding.shards: {sharding.plan().label} leaves the other shards to other processes, which share the"
            " data only through PostgreSQL: set database.url (README, Running several processes)"
        )
    if sharding.standby:
        problems.append("sharding.standby: a standby shares the active process's data only through PostgreSQL:"
                        " set database.url")  # fmt: skip
    return problems


def _health_file(settings: Settings) -> Path:
    """One heartbeat file per process role on this host: the shard set, and whether it started as a standby."""
    suffix = ""
    if settings.database.url is not None or not settings.sharding.plan().owns_all:
        suffix = settings.sharding.plan().slug + (".standby" if settings.sharding.standby else "")
    return health_path(settings.database.path, suffix)


def _token_or_exit(settings: Settings) -> str:
    token = settings.discord.token.get_secret_value() if settings.discord.token else ""
    if not token.strip():
        raise ConfigError(NO_TOKEN_HELP.format(prog=_prog()))
    return token


def _usable_storage(settings: Settings) -> None:
    problems = storage_problems(settings)
    if problems:
        raise ConfigError("\n  ".join(problems))


async def _run(settings: Settings, token: str) -> int:
    from bot.app import CollectiveBot
    from bot.logging_setup import configure_logging

    configure_logging(settings.logging.level, settings.secrets(), format=settings.logging.format)
    hooks = f"on {settings.webhooks.host}:{settings.webhooks.port}" if settings.webhooks.enabled else "off"
    plan, standby = settings.sharding.plan(), settings.sharding.standby
    log.info("starting Collective (database %s, webhooks %s, %s%s)", settings.database.where(), hooks, plan.label,
             ", standby" if standby else "")  # fmt: skip
    stop = StopSignals()
    with stop.installed():
        code = 0
        locks = ShardLocks(settings.database.url.get_secret_value(), plan) if settings.database.url else None
        # A standby is healthy while it waits: its heartbeat says so (`collective health`: "Discord standby").
        waiting = (
            asyncio.create_task(heartbeat(_health_file(settings), lambda: {"discord": "standby"}), name="heartbeat")
            if locks is not None and standby
            else None
        )
        try:
            taken = locks is None or await _take_shards(locks, standby, stop)
            if waiting is not None:
                waiting.cancel()
            if not taken:
                code = 0 if stop.requested.is_set() else 2
            elif await wait_for_discord(settings.discord.api_base_url, stop):
                code = await _serve(settings, token, stop, CollectiveBot, locks)
        finally:
            if waiting is not None:
                waiting.cancel()
            if locks is not None:
                await locks.release()
    if stop.name is not None:
        # The one line of a clean stop: by now every webhook received was answered and the database is closed.
        log.info("stopped on %s: webhooks answered, scheduler stopped, database closed", stop.name)
        return 0
    return code


async def _take_shards(locks: ShardLocks, standby: bool, stop: StopSignals) -> bool:
    """The shards' advisory locks: at once (active), or as soon as their holder stops (``--standby``)."""
    label = locks.plan.label
    if await locks.try_take():
        log.info("holding %s in the database: this process is the active one", label)
        return True
    if not standby:
        log.error("%s are held by another process on this database: stop it, or start this one with --standby",
                  label)  # fmt: skip
        return False
    log.info("standby for %s: another process holds them; taking over when it stops", label)
    if not await locks.wait_to_take(stop.sleep):
        return False
    log.info("took over %s: the active process stopped", label)
    return True


async def _serve(
    settings: Settings,
    token: str,
    stop: StopSignals,
    bot_cls: type[CollectiveBot],
    locks: ShardLocks | None = None,
) -> int:
    beat_path = _health_file(settings)
    async with await Database.open(settings.database.target()) as db, bot_cls(settings=settings, db=db) as bot:
        stop.on_stop(bot.close)
        fenced = asyncio.Event()

        async def fence() -> None:
            # Without the lock session a standby may already run these shards: stop now, restart as needed.
            assert locks is not None
            await locks.lost.wait()
            fenced.set()
            log.error("lost the database session holding %s: stopping so that only one process runs them",
                      locks.plan.label)  # fmt: skip
            await bot.close()

        def state() -> dict[str, str]:
            return {"discord": "connected" if bot.is_ready() and not bot.is_closed() else "connecting"}

        beat = asyncio.create_task(heartbeat(beat_path, state), name="heartbeat")
        guard = asyncio.create_task(fence(), name="shard-locks-fence") if locks is not None else None
        try:
            await bot.start(token)
            if fenced.is_set():
                return 1
        except discord.LoginFailure:
            log.error("Discord rejected the token: check [discord] token / DISCORD_TOKEN.")
            return 1
        except discord.PrivilegedIntentsRequired:
            log.error(
                "Discord refused the Server Members intent: enable it under Bot → Privileged Gateway "
                "Intents in the developer portal."
            )
            return 1
        except Exception as exc:
            if stop.requested.is_set():
                # A stop during login or setup closes the HTTP session under it; that is the stop, not a fault.
                log.debug("start-up interrupted by the stop", exc_info=exc)
                return 0
            if isinstance(exc, (OSError, TimeoutError)) or type(exc).__module__.startswith("aiohttp"):
                log.error("lost Discord during start-up (%s: %s); exiting so the supervisor restarts me",
                          type(exc).__name__, exc)  # fmt: skip
                return 1
            raise
        finally:
            beat.cancel()
            if guard is not None:
                guard.cancel()
            await stop.finished()
            with contextlib.suppress(OSError):
                beat_path.unlink(missing_ok=True)
    return 0


async def _migrate(settings: Settings) -> int:
    async with await Database.open(settings.database.target()) as db:
        applied = await db.migrate()
        version = await db.schema_version()
    names = ", ".join(m.name for m in applied) or "nothing to apply"
    print(f"{settings.database.where()}: schema version {version} ({names})")
    return 0


def _backup(settings: Settings, out: Path, force: bool) -> int:
    if out.exists() and not force:
        raise ConfigError(f"{out} exists; pass --force to overwrite it")
    if settings.database.url is None and not settings.database.path.exists():
        raise ConfigError(f"database.path: {settings.database.path} does not exist (nothing to back up)")
    asyncio.run(_copy_database(settings.database.target(), out))
    checked = "integrity ok" if settings.database.url is None else "pg_dump custom format; restore with pg_restore"
    print(f"backed up {settings.database.where()} to {out} ({out.stat().st_size:,} bytes, {checked})")
    return 0


async def _copy_database(source: Path | str, out: Path) -> None:
    async with await Database.open(source) as db:
        await db.backup(out)


def _restore(settings: Settings, backup: Path) -> int:
    if settings.database.url is not None:
        raise ConfigError("database.url: restore replaces a SQLite file; restore PostgreSQL with pg_restore")
    db_path = settings.database.path
    done = restore(backup, db_path)
    kept = f"the previous database is kept as {done.previous}" if done.previous else "there was no database before"
    print(
        f"restored {backup} into {db_path} (schema version {done.version}, integrity ok); {kept}.\n"
        "Start the bot as usual; it applies any newer migrations on start."
    )
    return 0


def _migrate_store(settings: Settings, url: str) -> int:
    from bot.storage.store_copy import StoreCopyError, copy_store  # asyncpg loads only for this command

    try:
        asyncio.run(copy_store(settings.database.path, url))
    except StoreCopyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _webhook_tier(settings: Settings) -> int:
    if settings.database.url is None:
        raise ConfigError(
            "database.url: the webhook tier shares its database with the shard processes, which only PostgreSQL"
            " allows; on one SQLite file, turn on [webhooks] in the bot itself"
        )
    settings = settings.model_copy(update={"webhooks": settings.webhooks.model_copy(update={"enabled": True})})
    problems = webhook_problems(settings)
    if problems:
        raise ConfigError("\n  ".join(problems))
    return asyncio.run(_serve_webhooks(settings))


async def _serve_webhooks(settings: Settings) -> int:
    """The webhook server alone: verify, record, answer. What follows a sale (DMs, posts) is written to the
    outbox in the same transaction and delivered by the shard process that owns the server, woken by NOTIFY."""
    from bot.clock import SystemClock
    from bot.logging_setup import configure_logging
    from bot.webhooks import WebhookServer

    configure_logging(settings.logging.level, settings.secrets(), format=settings.logging.format)
    hooks = settings.webhooks
    stop = StopSignals()
    with stop.installed():
        async with await Database.open(settings.database.target()) as db:
            applied = await db.migrate()
            if applied:
                log.info("database migrated to version %d", applied[-1].version)
            server = WebhookServer(db, hooks, SystemClock())
            await server.start()
            log.info("webhook tier on %s:%d (database %s): sales are recorded here and followed up by the shard"
                     " processes", hooks.host, hooks.port, settings.database.where())  # fmt: skip
            await stop.requested.wait()
            await server.stop()
    log.info("stopped on %s: webhooks answered, database closed", stop.name)
    return 0


def _check(settings: Settings) -> int:
    _token_or_exit(settings)
    problems = storage_problems(settings) + webhook_problems(settings)
    if problems:
        raise ConfigError("\n  ".join(problems))
    scope = f"guilds {settings.discord.sync_guild_ids}" if settings.discord.sync_guild_ids else "global"
    hooks = f"on {settings.webhooks.host}:{settings.webhooks.port}" if settings.webhooks.enabled else "off"
    print(
        "configuration OK\n"
        f"  database: {settings.database.path}\n"
        f"  commands sync: {scope}\n"
        f"  webhooks: {hooks}\n"
        + "".join(
            f"  webhook endpoint {path} off: {key} is not set\n"
            for path, key in (settings.webhooks.missing_secrets().items() if settings.webhooks.enabled else ())
        )
        + f"  backups: {settings.database.backup_dir or 'off (database.backup_dir is empty)'}\n"
        f"  program defaults: timezone {settings.program.timezone}, digest {settings.program.digest_weekday} "
        f"{settings.program.digest_time:%H:%M}, capacity {settings.program.capacity}"
    )
    return 0


async def _shop_check(settings: Settings) -> int:
    """One line per connected store; exit 2 when any is unusable (a supervisor or CI can act on it)."""
    from bot.shop.check import check_all

    if not settings.shops:
        print("no shop connected: add a [shops.<server id>] section (README, Connecting your shop)")
        return 2
    results = await check_all(settings)
    for result in results:
        print(result.describe())
    return 0 if all(r.ok for r in results) else 2


async def _shop_webhooks(settings: Settings) -> int:
    """Register what the ledger needs in every connected shop; safe to run again (nothing is added twice)."""
    import aiohttp

    from bot.shop.connections import delivery_address, describe, make_connector
    from bot.shop.errors import ShopError

    public_url = settings.webhooks.public_url
    if public_url is None:
        raise ConfigError("webhooks.public_url: set the public HTTPS address of the webhook server first")
    if not settings.shops:
        print("no shop connected: add a [shops.<server id>] section (README, Connecting your shop)")
        return 2
    failed = False
    async with aiohttp.ClientSession() as session:
        for guild_id, connection in sorted(settings.shops.items()):
            platform, label = describe(connection)
            try:
                connector = make_connector(session, connection, webhook_secret=settings.webhooks.woocommerce_secret)
                report = await connector.ensure_webhooks(delivery_address(public_url, platform, guild_id))
            except ShopError as exc:
                print(f"server {guild_id}: {label}: {exc}")
                failed = True
                continue
            print(f"server {guild_id}: {label}:\n  " + report.describe().replace("\n", "\n  "))
    return 2 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings: Settings | None = None
    try:
        if args.command == "demo":
            from bot.demo import run_demo

            return asyncio.run(run_demo(quiet=args.quiet))
        settings = _load(args)
        if args.command == "check-config":
            return _check(settings)
        if args.command == "shop" and args.shop_command == "webhooks":
            return asyncio.run(_shop_webhooks(settings))
        if args.command == "shop":
            return asyncio.run(_shop_check(settings))
        if args.command == "health":
            healthy, line = check_health(_health_file(settings))
            print(line)
            return 0 if healthy else 1
        if args.command in ("migrate", "restore", "migrate-store"):
            _usable_storage(settings)  # one line naming the key, not a traceback from deep inside sqlite
        if args.command == "migrate":
            return asyncio.run(_migrate(settings))
        if args.command == "backup":
            return _backup(settings, args.out, args.force)
        if args.command == "restore":
            return _restore(settings, args.backup)
        if args.command == "migrate-store":
            return _migrate_store(settings, args.to)
        if args.command == "webhooks":
            return _webhook_tier(settings)
        token = _token_or_exit(settings)
        _usable_storage(settings)
        problems = webhook_problems(settings) + _sharding_problems(settings)
        if problems:
            raise ConfigError("\n  ".join(problems))
        if settings.database.url is not None:  # PostgreSQL: the shards' advisory locks say who runs what
            return asyncio.run(_run(settings, token))
        with run_lock(settings.database.path):  # one bot per SQLite file; `restore` checks this lock
            return asyncio.run(_run(settings, token))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (DatabaseTooNew, DatabaseCollation, RestoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # e.g. database.path names a file that is not SQLite
        where = f" {settings.database.path}:" if settings is not None else ""
        print(f"error: database.path:{where} {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
