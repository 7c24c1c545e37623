"""The tests' PostgreSQL: a fresh schema per test on the server at localhost:5432.

Tests that need it are marked ``postgres`` and FAIL (never skip) when it cannot be reached:
a missing server must not pass for a green run. ``$JEMBATAN_TEST_POSTGRES`` names another
server (a postgresql:// URL of a database the tests may create schemas in).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

ADMIN_DSN = os.environ.get("JEMBATAN_TEST_POSTGRES", "postgresql://postgres@localhost:5432/test")


def admin_connection(dsn: str = ADMIN_DSN) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"these tests need PostgreSQL at {dsn} (start it: pg_ctlcluster"
            f" --skip-systemctl-redirect <version> main start): {exc}"
        )


def schema_dsn(schema: str, admin_dsn: str = ADMIN_DSN) -> str:
    """A DSN whose sessions create and find every table in ``schema``."""
    separator = "&" if "?" in admin_dsn else "?"
    return f"{admin_dsn}{separator}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def fresh_schema(prefix: str = "jt", admin_dsn: str = ADMIN_DSN) -> Iterator[str]:
    """The DSN of a new, empty schema, dropped afterwards: tests never see each other's
    data, and may run beside other suites on the same server."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with admin_connection(admin_dsn) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield schema_dsn(name, admin_dsn)
    finally:
        with admin_connection(admin_dsn) as conn:
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@dataclass
class ThrowawayCluster:
    """A PostgreSQL server of the test's own, for tests that must restart or stop theirs:
    the shared server on :5432 is never restarted, so suites beside it are not disturbed."""

    data: Path
    port: int
    _pg_ctl: list[str]

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self._pg_ctl, *args], check=True, timeout=60, capture_output=True)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[ThrowawayCluster]:
    """initdb in a temporary folder, started on a free loopback port, removed afterwards.

    PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user
    (which the Debian packages create), in a folder outside pytest's root-only tmp_path."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert binaries, "no PostgreSQL server binaries under /usr/lib/postgresql"
    bindir = binaries[-1].parent
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = Path(tempfile.mkdtemp(prefix="jembatan-pg-"))
    if as_user:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    # -l: the server's output goes to a file, never to the pipes of the pg_ctl call that
    # started it (which would then wait for the server to exit).
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data / "db"), "-w", "-o", options]
    pg_ctl += ["-l", str(data / "server.log")]
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data / "db"), "-U", "postgres",
         "--auth=trust", "--no-sync", "-E", "UTF8"],
        check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    cluster = ThrowawayCluster(data, port, pg_ctl)
    cluster._ctl("start")
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            cluster._ctl("stop", "-m", "immediate")
        shutil.rmtree(data, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
