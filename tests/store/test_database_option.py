"""`jembatan --database` / `serve --database`: a DSN the hub cannot use is refused in one
line that names the problem (and never the password), before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hub.home import HubHome
from hub.provisioning import init_home


def _home(root: Path) -> Path:
    """A hub home (the CA, keys) without the SQLite file a --database DSN stands in for."""
    init_home(HubHome(root))
    (root / "hub.db").unlink()
    return root


def _jembatan(*args: str, env_database: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin"}
    if env_database is not None:
        env["JEMBATAN_DATABASE"] = env_database
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_serve_refuses_a_dsn_of_another_engine(tmp_path: Path) -> None:
    result = _jembatan("--home", str(_home(tmp_path)), "serve", "--database", "mysql://root@db/hub")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "jembatan: database mysql://…: expected a postgresql:// DSN"
        " (or no --database, for the home's SQLite file)"
    )
    assert not (tmp_path / "hub.db").exists()  # nothing was opened in its place


def test_an_unreachable_server_is_named_without_its_password(tmp_path: Path) -> None:
    dsn = "postgresql://hub:pa55-w0rd@127.0.0.1:1/jembatan"
    result = _jembatan("--home", str(_home(tmp_path)), "pki", "list", env_database=dsn)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "jembatan: cannot connect to PostgreSQL at 127.0.0.1:1/jembatan"
    )
    assert "pa55-w0rd" not in result.stderr
