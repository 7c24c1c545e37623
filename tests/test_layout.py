"""The house's rules, checked on its files: a kernel at the bottom, rooms that import down.

- ``jembatan/`` (the kernel and the client SDKs), ``consent/``, ``policies/``, ``connectors/``
  and ``portal/`` (the citizens' portal, a member like any other) never import ``hub``:
  members and agencies use them without the server.
- The pure parts of the kernel (identifiers, subject rules, keys, JWS, the audit log's formats
  and proofs) import neither gRPC nor the server, so verifiers and tests use them offline.
- Importing the client SDK loads none of the server's dependencies.
- No hand-written source file grows past 700 lines, and ``hub/``'s root stays small.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "jembatan" / "v1"
MAX_LINES = 700
MAX_HUB_ROOT_MODULES = 12


def _sources(*folders: str) -> Iterator[Path]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if GENERATED not in path.parents:
                yield path


def _imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, lazily inside functions too."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _offences(folders: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _sources(*folders)
        for line, module in _imported_modules(path)
        if module.split(".")[0] in forbidden or module in forbidden
    ]


@pytest.mark.parametrize("folder", ["jembatan", "consent", "policies", "connectors", "portal"])
def test_the_layers_below_the_server_never_import_it(folder: str) -> None:
    assert _offences((folder,), ("hub",)) == []


PURE_KERNEL = (
    "jembatan/audit",
    "jembatan/catalogue.py",
    "jembatan/certs.py",
    "jembatan/ids.py",
    "jembatan/insights",
    "jembatan/jws.py",
    "jembatan/keys.py",
    "jembatan/limits.py",
    "jembatan/migrations.py",
    "jembatan/on_behalf.py",
    "jembatan/subject.py",
)


@pytest.mark.parametrize("part", PURE_KERNEL)
def test_the_pure_kernel_imports_neither_grpc_nor_the_server(part: str) -> None:
    paths = [ROOT / part] if part.endswith(".py") else list(_sources(part))
    assert paths
    offences = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in paths
        for line, module in _imported_modules(path)
        if module.split(".")[0] in ("grpc", "hub", "aiohttp", "psycopg")
        or module.startswith("jembatan.client")
    ]
    assert offences == []


def test_the_client_sdk_loads_none_of_the_servers_dependencies() -> None:
    probe = (
        "import sys, jembatan.client\n"
        "server = {'hub', 'aiohttp', 'psycopg', 'prometheus_client', 'yaml', 'policies',"
        " 'consent', 'connectors'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & server))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert loaded == "[]"


def test_no_hand_written_source_file_is_over_700_lines() -> None:
    long_files = [
        f"{path.relative_to(ROOT)}: {count} lines"
        for path in _sources(
            "jembatan", "hub", "consent", "policies", "connectors", "examples", "portal"
        )
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert long_files == []


def test_the_hub_root_holds_at_most_a_dozen_modules() -> None:
    modules = sorted(p.name for p in (ROOT / "hub").glob("*.py"))
    assert len(modules) <= MAX_HUB_ROOT_MODULES, modules
