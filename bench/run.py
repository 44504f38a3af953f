"""Run every benchmark scenario and print one table of figures, each beside its same-run baseline.

    python bench/run.py --quick     # every scenario at small sizes: checks they work (CI), no figures to trust
    python bench/run.py             # full sizes (takes a while); the table at the end goes into bench/README.md
    python bench/run.py --only burst --only startup
    python bench/run.py --only webhooks_pg --only burst_pg   # PostgreSQL beside SQLite (needs its server binaries)
    python bench/run.py --only shard_pair --only fleet       # beyond one process: shard processes over PostgreSQL

The scenarios: webhooks, csv, catch_up, queries, burst, startup, memory, shop_sync, redemption (SQLite, each beside
its bare baseline); webhooks_pg and burst_pg (the same on PostgreSQL, beside SQLite in the same run); shard_pair (two
shard processes over one PostgreSQL under the vote burst and a webhook burst at once, beside one process) and fleet
(2,000 servers × 500 members over 4 shard processes, beside one process with 500 servers and bare clients).

Each scenario is its own process (``python -m bench.<script>``) so one scenario's memory, threads and event
loop never colour the next. A scenario fails when it exits non-zero: it crashed, or its own correctness
check failed (orders or votes lost or doubled, interactions not acknowledged, errors logged). Timings are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/run.py` puts bench/, not the repo root, on the path
    sys.path.insert(0, str(REPO))

from bench.report import Figure, markdown, parse  # noqa: E402
from emulator.postgres_cluster import PostgresCluster  # noqa: E402

# name: (module, extra arguments). The *_pg scenarios run the bot on a throwaway PostgreSQL server beside SQLite
# and the bare baseline in one process run; they need PostgreSQL's server binaries (skipped, saying so, without).
SCENARIOS: dict[str, tuple[str, ...]] = {
    "webhooks": ("bench.bench_webhooks",),
    "webhooks_pg": ("bench.bench_webhooks", "--engine", "postgresql"),
    "csv": ("bench.bench_csv_import",),
    "catch_up": ("bench.bench_catch_up",),
    "queries": ("bench.bench_engagement",),
    "burst": ("bench.bench_burst",),
    "burst_pg": ("bench.bench_burst", "--engine", "postgresql"),
    "startup": ("bench.bench_startup",),
    "memory": ("bench.bench_memory",),
    "shop_sync": ("bench.bench_shop_sync",),
    "redemption": ("bench.bench_redemption",),
    "shard_pair": ("bench.bench_shard_pair",),
    "fleet": ("bench.bench_fleet",),
}


# The shard scenarios share one PostgreSQL database between processes: they run on it alone.
NEEDS_POSTGRES = {name for name, (_, *extra) in SCENARIOS.items() if "postgresql" in extra} | {"shard_pair", "fleet"}


def run(name: str, scenario: tuple[str, ...], quick: bool) -> tuple[bool, list[Figure], float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    module, *extra = scenario
    command = [sys.executable, "-m", module, *extra, *(["--quick"] if quick else [])]
    print(f"\n== {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    figures: list[Figure] = []
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            figure = parse(line)
            if figure is not None:
                figures.append(figure)
            else:
                print("   " + line.rstrip(), flush=True)
    took = time.perf_counter() - started
    ok = proc.returncode == 0 and bool(figures)
    print(f"== {name}: {'ok' if ok else 'FAILED'} in {took:.1f}s", flush=True)
    return ok, figures, took


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {system}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes: check that every scenario works")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="run only these scenarios")
    args = parser.parse_args()
    chosen = args.only or list(SCENARIOS)
    bin_dir, where = PostgresCluster.find_binaries()
    if bin_dir is None and NEEDS_POSTGRES.intersection(chosen):
        skipped = [name for name in chosen if name in NEEDS_POSTGRES]
        print(f"skipping {', '.join(skipped)}: {where}", flush=True)
        chosen = [name for name in chosen if name not in NEEDS_POSTGRES]
    failed: list[str] = []
    figures: list[Figure] = []
    for name in chosen:
        ok, found, _ = run(name, SCENARIOS[name], args.quick)
        figures += found
        if not ok:
            failed.append(name)
    size = "quick (small sizes; figures not meaningful)" if args.quick else "full sizes"
    print(f"\n## Results, {size}: {datetime.now(UTC):%Y-%m-%d}, {machine()}\n")
    print(markdown(figures))
    if failed:
        print(f"\nFAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
