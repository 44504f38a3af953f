"""A throwaway PostgreSQL server for tests, benchmarks and CI.

``PostgresCluster.start(base_dir)`` runs ``initdb`` and ``pg_ctl`` from the machine's PostgreSQL server binaries
into a temporary directory and returns a DSN; ``stop()`` kills the server and removes the directory. The server
listens on a free TCP port on 127.0.0.1 and on a unix socket in that directory, trusts local connections, and
gives up durability for speed (fsync, synchronous_commit and full_page_writes off): never put data you want to
keep in it. Its databases use the C locale, so text sorts and compares byte by byte, as in SQLite.

PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` user (``runuser -u postgres --``)
and its directory is owned by that user.

The command line is for shell scripts (``.ci/run``, bench)::

    python -m emulator.postgres_cluster start DIR   # prints the DSN; the state is kept in DIR/cluster.json
    python -m emulator.postgres_cluster stop DIR
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

SERVER_USER = "postgres"  # the server's user when we are root
START_TIMEOUT_SECONDS = 60
STATE_FILE = "cluster.json"
_SOCKET_PATH_LIMIT = 100  # sun_path is 108 bytes; ".s.PGSQL.<port>" must fit after the directory
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")
_SERVER_TOOLS = ("initdb", "pg_ctl", "postgres", "psql")


class ClusterError(RuntimeError):
    """The server could not be set up, started or reached; the message says why (with the server log's tail)."""


class PostgresServerMissing(ClusterError):
    """No PostgreSQL server binaries on this machine (the message says where they were looked for)."""


@dataclass(frozen=True)
class ClusterState:
    """What ``stop`` needs to find a running cluster again (kept as JSON for the command line)."""

    bin_dir: str
    work_dir: str  # data, socket and log live here; removed by stop
    port: int
    dsn: str


class PostgresCluster:
    """One throwaway PostgreSQL server. Not thread-safe; one ``start`` per instance."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        self._bin_dir = bin_dir
        self._state: ClusterState | None = None
        self._state_file: Path | None = None

    # -- finding the binaries -------------------------------------------------------------------------------

    @staticmethod
    def find_binaries() -> tuple[Path | None, str]:
        """The newest PostgreSQL server binaries: PATH's ``pg_ctl`` or ``/usr/lib/postgresql/*/bin``.

        Returns ``(bin_dir, description)``, or ``(None, reason)`` with a short human reason when there are none.
        """
        candidates: list[Path] = []
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
        candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin")))
        found: list[tuple[tuple[int, int], Path]] = []
        incomplete: list[str] = []
        for bin_dir in dict.fromkeys(candidates):  # unique, in order
            missing = [tool for tool in _SERVER_TOOLS if not (bin_dir / tool).is_file()]
            if missing:
                incomplete.append(f"{bin_dir} lacks {', '.join(missing)}")
                continue
            version = _server_version(bin_dir)
            if version is None:
                incomplete.append(f"{bin_dir}/postgres --version did not answer")
                continue
            found.append((version, bin_dir))
        if not found:
            detail = f" ({'; '.join(incomplete)})" if incomplete else ""
            return None, f"no PostgreSQL server binaries (pg_ctl on PATH or /usr/lib/postgresql/*/bin){detail}"
        version, bin_dir = max(found)
        return bin_dir, f"PostgreSQL {version[0]}.{version[1]} in {bin_dir}"

    # -- lifecycle ------------------------------------------------------------------------------------------

    @property
    def dsn(self) -> str:
        """The DSN of the ``postgres`` database (superuser ``postgres``, no password)."""
        if self._state is None:
            raise ClusterError("the cluster is not running")
        return self._state.dsn

    @property
    def postmaster_pid(self) -> int:
        """The server's main process; every backend is its child (what a benchmark sums to see the server's CPU)."""
        if self._state is None:
            raise ClusterError("the cluster is not running")
        return int((Path(self._state.work_dir) / "data" / "postmaster.pid").read_text().split()[0])

    @property
    def server_log(self) -> Path:
        """The server's log file (deadlock reports name their statements only here)."""
        if self._state is None:
            raise ClusterError("the cluster is not running")
        return Path(self._state.work_dir) / "server.log"

    def start(self, base_dir: Path | str, *, timeout: float = START_TIMEOUT_SECONDS) -> str:
        """Create and start a server under ``base_dir``; returns the DSN of its ``postgres`` database."""
        if self._state is not None:
            raise ClusterError("this cluster is already running")
        bin_dir = self._bin_dir
        if bin_dir is None:
            bin_dir, reason = self.find_binaries()
            if bin_dir is None:
                raise PostgresServerMissing(reason)
        base = Path(base_dir).resolve()
        base.mkdir(parents=True, exist_ok=True)
        work = _make_work_dir(base)
        try:
            self._state = _init_and_start(bin_dir, work, timeout)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        self._state_file = base / STATE_FILE
        self._state_file.write_text(json.dumps(asdict(self._state), indent=2) + "\n", encoding="utf-8")
        return self._state.dsn

    def stop(self) -> None:
        """Kill the server (``pg_ctl stop -m immediate``) and remove its directory. Safe to call twice."""
        state, self._state = self._state, None
        if state is None:
            return
        _stop(state)
        if self._state_file is not None:
            self._state_file.unlink(missing_ok=True)

    @classmethod
    def attach(cls, base_dir: Path | str) -> PostgresCluster:
        """The cluster a previous ``start(base_dir)`` (perhaps in another process) left running."""
        path = Path(base_dir) / STATE_FILE
        try:
            state = ClusterState(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ClusterError(f"no cluster was started in {base_dir} ({path} is missing)") from None
        cluster = cls(Path(state.bin_dir))
        cluster._state, cluster._state_file = state, path
        return cluster

    @classmethod
    def stop_dir(cls, base_dir: Path | str) -> None:
        """Stop the cluster started in ``base_dir`` (perhaps by another process) and forget it."""
        cls.attach(base_dir).stop()

    # -- databases ------------------------------------------------------------------------------------------

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (optionally as a copy of ``template``); returns its DSN."""
        sql = f'CREATE DATABASE "{_checked_name(name)}"'
        if template is not None:
            sql += f' TEMPLATE "{_checked_name(template)}"'
        self._psql(sql)
        return self.database_dsn(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting its sessions."""
        self._psql(f'DROP DATABASE IF EXISTS "{_checked_name(name)}" WITH (FORCE)')

    def database_dsn(self, name: str) -> str:
        if self._state is None:
            raise ClusterError("the cluster is not running")
        return f"postgresql://postgres@127.0.0.1:{self._state.port}/{_checked_name(name)}"

    def _psql(self, sql: str) -> None:
        if self._state is None:
            raise ClusterError("the cluster is not running")
        psql = Path(self._state.bin_dir) / "psql"
        command = [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self._state.dsn, "-c", sql]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
        if done.returncode != 0:
            raise ClusterError(f"{sql}: {done.stderr.strip()}")


# -- helpers ------------------------------------------------------------------------------------------------


def _server_version(bin_dir: Path) -> tuple[int, int] | None:
    try:
        done = subprocess.run(
            [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False, timeout=10
        )
    except OSError:
        return None
    match = _VERSION.search(done.stdout)
    if done.returncode != 0 or match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def _checked_name(name: str) -> str:
    if not _DATABASE_NAME.match(name):
        raise ClusterError(f"database name {name!r}: use lower-case letters, digits and _ (at most 63)")
    return name


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _as_server_user(command: list[str]) -> list[str]:
    """As root, run ``command`` as the server's user (the server refuses root); otherwise as ourselves."""
    return ["runuser", "-u", SERVER_USER, "--", *command] if _as_root() else command


def _make_work_dir(base: Path) -> Path:
    """A fresh directory the server's user owns and can reach: under ``base`` if it can, else in the temp dir.

    As root, ``base`` is often a private 0700 directory (pytest's tmp_path) the ``postgres`` user cannot enter;
    the unix socket's path must also stay short.
    """
    work = Path(tempfile.mkdtemp(prefix="pg-", dir=base))
    if _usable(work):
        return work
    shutil.rmtree(work, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="collective-pg-"))
    if not _usable(work):
        shutil.rmtree(work, ignore_errors=True)
        raise ClusterError(f"the {SERVER_USER!r} user cannot write to a fresh directory in {tempfile.gettempdir()}")
    return work


def _usable(work: Path) -> bool:
    if len(str(work / "socket" / ".s.PGSQL.65535")) > _SOCKET_PATH_LIMIT:
        return False
    if not _as_root():
        return True
    try:
        shutil.chown(work, user=SERVER_USER, group=None)
    except (LookupError, PermissionError) as exc:
        raise ClusterError(f"running as root needs the {SERVER_USER!r} user to run the server: {exc}") from exc
    probe = subprocess.run(_as_server_user(["test", "-w", str(work), "-a", "-x", str(work)]), check=False)
    return probe.returncode == 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: list[str], cwd: Path, what: str, timeout: float) -> None:
    try:
        done = subprocess.run(
            _as_server_user(command), cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"{what} did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise ClusterError(f"{what} failed (exit {done.returncode}): {output}")


def _log_tail(log: Path, lines: int = 20) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:]) or "(the server log is empty)"


def _init_and_start(bin_dir: Path, work: Path, timeout: float) -> ClusterState:
    data, sockets, log = work / "data", work / "socket", work / "server.log"
    _run(
        [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
         "--locale=C", "--no-sync", "--no-instructions"],
        work, "initdb", timeout,
    )  # fmt: skip
    _run(["mkdir", "-m", "0700", str(sockets)], work, "making the socket directory", timeout)
    last_error: ClusterError | None = None
    for _attempt in range(3):  # another process may take the free port between probing and binding
        port = _free_port()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{sockets}'",
            "max_connections": "200",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "logging_collector": "off",
        }
        # postgresql.auto.conf is read last, so these win; the server's user owns it, so write it as that user.
        conf = "".join(f"{key} = {value}\n" for key, value in settings.items())
        _write_as_server_user(data / "postgresql.auto.conf", conf, work)
        try:
            _run(
                [str(bin_dir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w", "-t", str(int(timeout))],
                work, "pg_ctl start", timeout + 10,
            )  # fmt: skip
        except ClusterError as exc:
            last_error = ClusterError(f"{exc}\n--- the end of {log} ---\n{_log_tail(log)}")
            if "could not bind" not in _log_tail(log):
                break
            continue
        dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        return ClusterState(bin_dir=str(bin_dir), work_dir=str(work), port=port, dsn=dsn)
    assert last_error is not None
    raise last_error


def _write_as_server_user(path: Path, text: str, cwd: Path) -> None:
    done = subprocess.run(
        _as_server_user(["sh", "-c", 'cat > "$1"', "sh", str(path)]),
        input=text, cwd=cwd, capture_output=True, text=True, check=False, timeout=10,
    )  # fmt: skip
    if done.returncode != 0:
        raise ClusterError(f"writing {path} failed: {done.stderr.strip()}")


def _stop(state: ClusterState) -> None:
    work = Path(state.work_dir)
    data = work / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_server_user([str(Path(state.bin_dir) / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w"]),
            cwd=work, capture_output=True, check=False, timeout=60,
        )  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator.postgres_cluster", description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["find", "start", "stop"], help="find: say which server binaries are used")
    parser.add_argument("dir", type=Path, nargs="?", help="start/stop: where the cluster's state is kept")
    args = parser.parse_args(argv)
    if args.action == "find":
        bin_dir, description = PostgresCluster.find_binaries()
        print(description)
        return 0 if bin_dir is not None else 1
    if args.dir is None:
        parser.error(f"{args.action} needs the cluster's directory")
    try:
        if args.action == "start":
            print(PostgresCluster().start(args.dir))
        else:
            PostgresCluster.stop_dir(args.dir)
    except ClusterError as exc:
        print(f"postgres_cluster {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
