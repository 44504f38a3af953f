"""Several bot processes (or bare clients) sharing the emulator's shards, as a fleet on one machine runs them.

Each bot process gets its own config and folder — its heartbeat file and the run lock live beside
``database.path``, one per process — while ``database.url`` points every one of them at the same PostgreSQL
database, and ``--shards i --shard-count N`` gives it its part of the servers. The processes start together;
start-up is timed for each from its own exec to its own "ready" line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.botproc import TOKEN, Running, start_bare, start_bot
from emulator import Emulator

WEBHOOK_SECRET = "bench-secret"


def fleet_config(folder: Path, emu: Emulator, dsn: str, name: str, webhook_port: int | None = None) -> Path:
    """A config for one process named ``name``: its own folder, the shared database, optionally webhooks."""
    home = folder / name
    home.mkdir(parents=True, exist_ok=True)
    hooks = (
        f'[webhooks]\nenabled = true\nport = {webhook_port}\nshopify_secret = "{WEBHOOK_SECRET}"\n'
        if webhook_port is not None
        else ""
    )
    path = home / "config.toml"
    path.write_text(
        f'[discord]\ntoken = "{TOKEN}"\napi_base_url = "{emu.api_base_url}"\ngateway_url = "{emu.gateway_url}"\n'
        f'[database]\npath = "{home / "collective.db"}"\nurl = "{dsn}"\n{hooks}[logging]\nlevel = "INFO"\n',
        encoding="utf-8",
    )
    return path


def shard_options(shard: int | None, shard_count: int) -> tuple[str, ...]:
    """The command-line options of one shard process (none for an unsharded one)."""
    return () if shard is None else ("--shards", str(shard), "--shard-count", str(shard_count))


async def start_bots(configs: Sequence[Path], shard_count: int) -> list[Running]:
    """Process i holds shard i of ``shard_count`` (one config each); all exec'd back to back."""
    if len(configs) == 1 and shard_count == 1:
        return [await start_bot(configs[0])]  # the unsharded bot, exactly as it runs without --shards
    return [await start_bot(config, *shard_options(i, shard_count)) for i, config in enumerate(configs)]


async def start_bares(emu: Emulator, processes: int, shard_count: int) -> list[Running]:
    if processes == 1 and shard_count == 1:
        return [await start_bare(emu)]
    return [await start_bare(emu, *shard_options(i, shard_count)) for i in range(processes)]


async def wait_all_ready(processes: Sequence[Running], timeout: float) -> list[float]:  # noqa: ASYNC109 a deadline
    """Seconds from each process's exec to its "ready" line (stops them all if one never gets there)."""
    try:
        return list(await asyncio.gather(*(p.wait_ready(timeout) for p in processes)))
    except BaseException:
        await stop_all(processes)
        raise


async def stop_all(processes: Sequence[Running]) -> None:
    await asyncio.gather(*(p.stop() for p in processes))


@dataclass(frozen=True)
class Memory:
    """One process's resident memory, MB: now, and the most it held so far (start-up's peak)."""

    rss: float
    peak: float


def memory_of(processes: Sequence[Running]) -> list[Memory]:
    return [Memory(p.rss_mb(), p.peak_mb()) for p in processes]
