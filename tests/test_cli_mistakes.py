"""A user's mistakes at the command line: each one a one-line `jembatan: …` message and exit 2,
never a traceback, and nothing changed; a refusal or a failed verification exits 1."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hub.home import HubHome
from hub.provisioning import init_consent_manager, init_home
from tests.test_cli import jembatan

EMPLOYMENT = "ID/GOV/BPJSTK/wages/employment"
NIK = "3510105906750006"

# Every command that reads the hub home, with arguments that are otherwise well formed.
HOME_COMMANDS = [
    ["serve", "--listen", "127.0.0.1:0"],
    ["audit", "check"],
    ["audit", "export", "--out", "log.jsonl"],
    ["audit", "checkpoint"],
    ["audit", "fetch", "0", "1", "--out", "range.jsonl"],
    ["pki", "list"],
    ["pki", "enrol", "--member", "ID/GOV/KEMENSOS/eligibility"],
    ["pki", "revoke", "0a"],
    ["consent", "grant", "--subject", NIK, "--service", EMPLOYMENT, "--fields", "status"],
    ["consent", "revoke", "some-consent"],
    ["consent", "list", "--subject", "3510105906750006"],
    ["query", "--subject", NIK, "--service", EMPLOYMENT, "--fields", "status", "--consent", "x"],
    ["sim", "bpjstk"],
    ["console", "add-officer", "siti", "--password-file", "password"],
    ["admin", "enrolment", "list"],
]


def one_line_error(result: object) -> str:
    """The stderr of a user mistake: one `jembatan: …` line, exit 2, no traceback."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)  # type: ignore[attr-defined]
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("jembatan: "), stderr
    return stderr


@pytest.mark.parametrize("state", ["missing", "empty"])
@pytest.mark.parametrize("command", HOME_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_command_without_a_hub_home_says_so(
    command: list[str], state: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    if state == "empty":
        home.mkdir()
    result = jembatan(*command, home=home)
    stderr = one_line_error(result)
    assert str(home) in stderr and "jembatan pki init" in stderr, stderr
    # Nothing was made on the way: no database file, no directory.
    assert list(home.iterdir()) == [] if state == "empty" else not home.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--listen", "46003"],
        ["serve", "--listen", "127.0.0.1:99999"],
        ["serve", "--listen", "127.0.0.1:port"],
        ["serve", "--metrics-listen", "9100"],
        ["sim", "--listen", "46003"],
        ["sim", "--listen", "127.0.0.1:70000"],
        ["console", "--listen", ":65536"],
    ],
    ids=" ".join,
)
def test_a_listen_address_must_be_host_and_port(command: list[str], tmp_path: Path) -> None:
    result = jembatan(*command, home=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "HOST:PORT" in result.stderr.splitlines()[-1], result.stderr


def test_serve_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    home = HubHome(tmp_path / "home")
    init_home(home)
    init_consent_manager(home)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = jembatan("serve", "--listen", f"127.0.0.1:{port}", home=home.root)
    stderr = one_line_error(result)
    assert f"127.0.0.1:{port}" in stderr and "in use" in stderr, stderr


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    home = HubHome(tmp_path / "home")
    init_home(home)
    nowhere = tmp_path / "nowhere"
    query = jembatan(
        *["query", "--subject", "3510105906750006", "--service", EMPLOYMENT],
        *["--fields", "employment_status", "--consent", f"@{nowhere}"],
        home=home.root,
    )
    assert f"cannot read --consent {nowhere}" in one_line_error(query)
    export = jembatan("audit", "verify", str(nowhere), "--key", "k")
    assert f"cannot read {nowhere}" in one_line_error(export)
    key = jembatan("audit", "verify", str(nowhere), "--key", f"@{nowhere}.vkey")
    assert f"cannot read --key {nowhere}.vkey" in one_line_error(key)
    checkpoint = tmp_path / "log.jsonl"
    checkpoint.write_text("")
    missing = jembatan(
        "audit", "verify", str(checkpoint), "--checkpoint", str(nowhere), "--key", "k"
    )
    assert f"cannot read --checkpoint {nowhere}" in one_line_error(missing)


def test_revocation_reasons_are_those_of_rfc_5280(tmp_path: Path) -> None:
    result = jembatan("pki", "revoke", "0a", "--reason", "because", home=tmp_path)
    assert result.returncode == 2 and "invalid choice: 'because'" in result.stderr
    assert "key-compromise" in result.stderr
    helped = jembatan("pki", "revoke", "--help")
    assert "cessation-of-operation" in helped.stdout


def test_lint_of_a_folder_without_policies_fails(tmp_path: Path) -> None:
    result = jembatan("policy", "lint", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path}: error: no policy files (*.yaml)" in result.stdout, result.stdout


def test_explain_names_an_unknown_service(tmp_path: Path) -> None:
    result = jembatan(
        "policy", "explain", "--service", "ID/GOV/NOPE/x", "--field", "f", home=tmp_path
    )
    assert result.returncode == 1
    assert result.stdout.strip() == (
        "not released: unknown service ID/GOV/NOPE/x: no policy rule and no service catalogue"
        " names it"
    )


def test_sim_samples_names_citizens_the_agencies_hold(tmp_path: Path) -> None:
    from connectors.population import generate

    result = jembatan("samples", "--scale", "0.05", "--count", "3", home=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = [line.split() for line in lines if line[:1].isdigit()]
    assert len(rows) == 3, result.stdout
    population = generate(2026, scale=0.05)
    for nik, *rest in rows:
        household, _ = population.by_nik(nik)  # type: ignore[misc]
        assert household.village.name in rest
        # Each agency named holds a record of this citizen, under the service a query asks.
        if "bpjstk" in rest:
            assert nik in population.bpjstk
        assert ("dukcapil" in rest) == (nik in population.dukcapil)
    assert "ID/GOV/BPJSTK/wages/employment" in result.stdout  # where to ask, for each agency


def test_consent_grant_refuses_fields_the_catalogue_does_not_have(tmp_path: Path) -> None:
    home = HubHome(tmp_path / "home")
    init_home(home)
    init_consent_manager(home)
    grant = ["consent", "grant", "--subject", NIK, "--service", EMPLOYMENT, "--hub", "127.0.0.1:1"]
    typo = jembatan(*grant, "--fields", "employment_status,monthly_wages", home=home.root)
    assert "has no field 'monthly_wages' (did you mean 'monthly_wage'?)" in one_line_error(typo)
    unknown = jembatan(*grant[:-4], "--service", "ID/GOV/NOPE/x", "--fields", "f", home=home.root)
    assert "unknown service ID/GOV/NOPE/x" in one_line_error(unknown)
