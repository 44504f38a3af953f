"""``CollectiveBot``: shared resources injected, extensions discovered, scheduler and sync in setup_hook.

An ``AutoShardedBot``: with ``[sharding] shards`` it connects only those shards, and its scheduler, outbox and
shop jobs act only for the servers they own (``bot/sharding.py``); without, every shard Discord recommends."""

from __future__ import annotations

import asyncio
import functools
import logging
import pkgutil
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

import discord
from discord.ext import commands

import cogs
from bot.backups import backup_job
from bot.claims import Claimant, keep_leases
from bot.clock import Clock, SystemClock
from bot.command_sync import sync_if_changed
from bot.config import Settings
from bot.cooldowns import Allowance, Cooldowns
from bot.db import Database, in_transaction
from bot.endpoints import configure_endpoints
from bot.errors import TransactionSpanError
from bot.outbox import Outbox
from bot.posting import report_refused_work
from bot.scheduler import Scheduler
from bot.services.program.guild_settings import ensure_guild
from bot.shop.connections import ShopConnections
from bot.tree import CollectiveTree
from bot.webhooks import WebhookServer, start_webhook_server

log = logging.getLogger(__name__)

STOP_GRACE = 3.0  # seconds that listeners, commands and button handlers already running get to finish on a stop
# discord.py runs each listener, command and component callback as a task it keeps no reference to.
_HANDLER_TASKS = ("discord.py: ", "CommandTree-invoker", "discord-ui-view-dispatch-")


async def _finish_handlers() -> None:
    """Let handlers already running (a sale's DM, a click being answered) finish while the database and the
    scheduler are still open, instead of failing against closed ones halfway through."""
    current = asyncio.current_task()
    running = [
        task
        for task in asyncio.all_tasks()
        if task is not current and not task.done() and task.get_name().startswith(_HANDLER_TASKS)
    ]
    if running:
        _, late = await asyncio.wait(running, timeout=STOP_GRACE)
        if late:
            log.warning("stopping with %d handler(s) still running", len(late))


def build_intents() -> discord.Intents:
    """Only what the features need (README explains each)."""
    intents = discord.Intents.none()
    intents.guilds = True  # channels, roles and the guild itself
    intents.members = True  # privileged: joins and leaves, and members' roles for checks and the roster
    intents.voice_states = True  # attendance for online events: who joined the event's voice channel
    return intents


def discover_extensions() -> list[str]:
    """Every module in ``cogs/`` except private ones (``_name``)."""
    return sorted(
        f"{cogs.__name__}.{module.name}"
        for module in pkgutil.iter_modules(cogs.__path__)
        if not module.name.startswith("_")
    )


class CollectiveBot(commands.AutoShardedBot):
    # Declared here: mypy cannot infer attributes set after AutoShardedBot's (TYPE_CHECKING-only) __init__.
    claimant: Claimant
    scheduler: Scheduler
    outbox: Outbox
    shops: ShopConnections
    extension_names: list[str]
    started_at: datetime
    scheduler_started: asyncio.Event

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        clock: Clock | None = None,
        extensions: list[str] | None = None,
    ) -> None:
        configure_endpoints(settings.discord)
        plan = settings.sharding.plan()
        super().__init__(
            shard_count=plan.shard_count,  # None: as many as Discord recommends, all in this process
            # discord.py's own default is None (every shard); its type hints only say a list.
            shard_ids=list(plan.shard_ids) if plan.shard_ids is not None else None,  # type: ignore[arg-type]
            command_prefix=commands.when_mentioned,
            intents=build_intents(),
            tree_cls=CollectiveTree,
            guild_ready_timeout=settings.discord.guild_ready_timeout,
            help_command=None,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True, replied_user=False),
        )
        # discord.py's AutoShardedClient.close() puts a "closed" event on a queue it only creates at login: a bot
        # closed before it logged in (a stop during start-up, the tests) would fail there. Login replaces it.
        setattr(self, "_AutoShardedClient__queue", asyncio.PriorityQueue())  # noqa: B010 — name-mangled
        self.settings = settings
        self.db = db
        limits = settings.limits
        assert isinstance(self.tree, CollectiveTree)
        self.tree.cooldowns = Cooldowns(
            member=Allowance(limits.member_burst, limits.member_per_second),
            moderator=Allowance(limits.moderator_burst, limits.moderator_per_second),
        )
        self.clock: Clock = clock or SystemClock()
        self.claimant = Claimant(lease=timedelta(seconds=settings.sharding.lease_seconds), plan=plan)
        self.scheduler = Scheduler(
            db, self.clock, grace=timedelta(hours=settings.program.grace_window_hours), claimant=self.claimant
        )
        self.outbox = Outbox(db, self.clock, claimant=self.claimant)
        self.shops = ShopConnections(settings, db, self.clock, owns=plan.owns)
        self.new_shops: list[int] = []  # servers whose shop is new to them this start (webhooks, backfill)
        self.scheduler.on_failure = functools.partial(report_refused_work, self)  # moderators hear of 403s
        if settings.database.backup_dir is not None and db.engine == "sqlite":
            # PostgreSQL is backed up with its own tools (pg_dump, WAL archiving), outside the bot.
            self.scheduler.register_job(backup_job(db, settings.database.backup_dir, settings.database.backup_keep))
        self.extension_names = discover_extensions() if extensions is None else extensions
        self.started_at = self.clock.now()
        self._background: set[asyncio.Task[Any]] = set()
        self.scheduler_started = asyncio.Event()
        self.webhook_server: WebhookServer | None = None
        self._guard_http_against_open_transactions()

    def _guard_http_against_open_transactions(self) -> None:
        # The rule "one transaction, then Discord side effects", enforced: a REST call made while this
        # task holds the writer would keep every other writer waiting on the network.
        original = self.http.request

        async def guarded(route: Any, **kwargs: Any) -> Any:
            if in_transaction():
                raise TransactionSpanError(f"{route.method} {route.path} called inside a database transaction")
            return await original(route, **kwargs)

        setattr(self.http, "request", guarded)  # noqa: B010 — an instance override, not a typed attribute

    async def setup_hook(self) -> None:
        applied = await self.db.migrate()
        if applied:
            log.info("database migrated to version %d", applied[-1].version)
        self.new_shops = await self.shops.start(self.clock.now())
        for name in self.extension_names:
            await self.load_extension(name)
        self.spawn(self._start_scheduler(), name="scheduler-start")
        if self.settings.webhooks.enabled:  # order webhooks need only the database, not the gateway
            self.webhook_server = await start_webhook_server(self)
        await sync_if_changed(self)

    async def _start_scheduler(self) -> None:
        # Scheduled work talks to guilds, so it waits for the gateway's first READY (once per process).
        await self.wait_until_ready()
        for guild in self.guilds:
            await self.db.perform(ensure_guild, guild.id, self.settings.program, self.clock.now())
        await self.db.listen_for_wakes()  # work other processes write for our servers (PostgreSQL)
        self.spawn(keep_leases(self.db, self.claimant, self.clock), name="claim-leases")
        await self.outbox.start()
        report = await self.scheduler.start()
        if report.ran or report.missed:
            log.info("scheduler caught up: ran %s, missed %s", report.ran, report.missed)
        self.scheduler_started.set()
        log.info("ready: %d server(s), scheduler started", len(self.guilds))  # bench/ times start-up to this line
        if not self.claimant.plan.owns_all:
            log.info("%s: scheduled work and the outbox run here for these servers only", self.claimant.plan.label)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        if await self.db.perform(ensure_guild, guild.id, self.settings.program, self.clock.now()):
            log.info("new server %s (%s): program settings created from defaults", guild.name, guild.id)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """A background task whose reference is kept and whose failure is logged."""
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        # A stop signal closes the bot, and leaving `async with` may close it again: stop the server only once.
        # Stopping it first answers every delivery already received (after its commit) and refuses new ones.
        server, self.webhook_server = self.webhook_server, None
        if server is not None:
            await server.stop()
        await _finish_handlers()
        await self.scheduler.shutdown()
        await self.outbox.stop()
        for task in list(self._background):
            task.cancel()
        await self.shops.close()
        await super().close()
