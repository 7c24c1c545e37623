"""The `jembatan` command as a user meets it: help everywhere, one-line errors, the demo."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from hub.home import HubHome
from hub.provisioning import enrol, init_home, revoke_certificate
from jembatan.certs import member_id_of
from jembatan.keys import load_cert_pem
from tests.stack import ADMINISTRATOR_ID, ELIGIBILITY_ID, Stack, employment_query

COMMANDS = [
    [],
    ["pki"],
    ["pki", "init"],
    ["pki", "csr"],
    ["pki", "issue"],
    ["pki", "enrol"],
    ["pki", "revoke"],
    ["pki", "list"],
    ["consent"],
    ["consent", "request"],
    ["consent", "grant"],
    ["consent", "reject"],
    ["consent", "revoke"],
    ["consent", "list"],
    ["consent", "receipt"],
    ["audit"],
    ["audit", "checkpoint"],
    ["audit", "export"],
    ["audit", "verify"],
    ["audit", "check"],
    ["audit", "fetch"],
    ["audit", "follow"],
    ["serve"],
    ["sim"],
    ["query"],
    ["approve"],
    ["demo"],
    ["admin"],
    ["admin", "enrolment", "list"],
    ["admin", "enrolment", "approve"],
    ["admin", "enrolment", "reject"],
    ["admin", "revoke"],
    ["admin", "connector", "list"],
    ["admin", "connector", "approve"],
    ["admin", "connector", "reject"],
    ["admin", "service", "disable"],
    ["admin", "service", "enable"],
    ["member"],
    ["member", "enrol"],
    ["member", "enrolment"],
    ["member", "renew"],
    ["member", "register-connector"],
    ["member", "connector"],
    ["health"],
]


def jembatan(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    prefix = ["--home", str(home)] if home else []
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *prefix, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "jembatan")
def test_every_command_answers_help(command: list[str]) -> None:
    result = jembatan(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: jembatan" in result.stdout


def test_errors_are_one_readable_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert jembatan("pki", "init", home=home).returncode == 0
    again = jembatan("pki", "init", home=home)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "already holds a hub CA" in again.stderr

    missing = jembatan(
        "pki",
        "issue",
        "--csr",
        str(tmp_path / "nope.csr"),
        "--member",
        "ID/GOV/X/y",
        "--out",
        str(tmp_path / "c.pem"),
        home=home,
    )
    assert missing.returncode == 2
    assert (
        missing.stderr.startswith("jembatan: cannot read CSR") and missing.stderr.count("\n") == 1
    )

    bad_member = jembatan("pki", "enrol", "--member", "not-a-member", home=home)
    assert bad_member.returncode == 2 and bad_member.stderr.count("\n") == 1
    assert "not a member id" in bad_member.stderr

    revoke_unknown = jembatan("pki", "revoke", "abc123", home=home)
    assert revoke_unknown.returncode == 2
    assert "no certificate with serial abc123" in revoke_unknown.stderr


def test_csr_issue_revoke_round_trip(tmp_path: Path) -> None:
    """The agency keeps its key: CSR on its side, certificate from the hub, revocation."""
    home = tmp_path / "home"
    assert jembatan("pki", "init", home=home).returncode == 0
    key, csr, cert = tmp_path / "k.pem", tmp_path / "r.csr", tmp_path / "c.pem"
    made = jembatan(
        "pki", "csr", "--member", "ID/GOV/BPN/land", "--key-out", str(key), "--csr-out", str(csr)
    )
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o077 == 0
    issued = jembatan(
        "pki",
        "issue",
        "--csr",
        str(csr),
        "--member",
        "ID/GOV/BPN/land",
        "--out",
        str(cert),
        home=home,
    )
    assert issued.returncode == 0, issued.stderr
    listing = jembatan("pki", "list", home=home).stdout
    assert "ID/GOV/BPN/land" in listing and "valid" in listing
    assert jembatan("pki", "revoke", str(cert), "--reason", "superseded", home=home).returncode == 0
    assert "REVOKED" in jembatan("pki", "list", home=home).stdout
    twice = jembatan("pki", "revoke", str(cert), home=home)
    assert twice.returncode == 2 and "already revoked" in twice.stderr


def test_serve_refuses_an_invalid_policy_file_naming_file_and_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert jembatan("pki", "init", home=home).returncode == 0
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "bad.yaml").write_text(
        "rules:\n"
        "  - client: ID/GOV/KEMENSOS/eligibility\n"
        "    purpose: bansos-eligibility\n"
        "    service: ID/GOV/BPJSTK/wages/employment\n"
        "    fields:\n"
        "      employer: hashed\n"
    )
    result = jembatan("serve", "--listen", "127.0.0.1:0", "--policies", str(policies), home=home)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"{policies / 'bad.yaml'}:6:" in result.stderr and "hashed" in result.stderr


def test_serve_takes_the_clock_skew_and_shows_its_default(tmp_path: Path) -> None:
    from hub.cli import build_parser
    from hub.cli.serve import serve_settings

    init_home(HubHome(tmp_path))
    parse = build_parser().parse_args
    given = parse(["--home", str(tmp_path), "serve", "--clock-skew", "45"])
    assert serve_settings(given).clock_skew_s == 45
    assert serve_settings(parse(["--home", str(tmp_path), "serve"])).clock_skew_s == 30
    shown = " ".join(jembatan("serve", "--help").stdout.split())
    assert "--clock-skew SECONDS" in shown and "(default: 30)" in shown
    negative = jembatan("serve", "--clock-skew", "-1", home=tmp_path)
    assert negative.returncode == 2 and "--clock-skew" in negative.stderr
    assert "Traceback" not in negative.stderr


def test_query_grant_and_revoke_from_the_command_line(stack: Stack) -> None:
    """An operator's session: grant consent, query, revoke, query again (refused)."""
    stack.member(ELIGIBILITY_ID)
    stack.member("ID/GOV/KEMENSOS/perlinsos-portal")
    home = stack.home.root
    nik = stack.people.recently_terminated
    artefact = home / "consent.jws"
    granted = jembatan(
        "consent",
        "grant",
        "--subject",
        nik,
        "--service",
        "ID/GOV/BPJSTK/wages/employment",
        "--fields",
        "employment_status,termination_date",
        "--out",
        str(artefact),
        "--hub",
        stack.address,
        home=home,
    )
    assert granted.returncode == 0, granted.stderr
    consent_id = granted.stdout.split()[1]
    query = (
        "query",
        "--hub",
        stack.address,
        "--service",
        "ID/GOV/BPJSTK/wages/employment",
        "--subject",
        nik,
        "--fields",
        "employment_status,termination_date",
        "--consent",
        f"@{artefact}",
    )
    answered = jembatan(*query, home=home)
    assert answered.returncode == 0, answered.stderr
    assert "employment_status    inactive" in answered.stdout
    assert (
        "termination_date     True" in answered.stdout
        and "(predicate within 90 days)" in answered.stdout
    )
    assert "recorded at log index" in answered.stdout
    assert nik not in answered.stdout

    revoked = jembatan("consent", "revoke", consent_id, "--hub", stack.address, home=home)
    assert revoked.returncode == 0, revoked.stderr
    refused = jembatan(*query, home=home)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"jembatan: refused: PERMISSION_DENIED CONSENT_REVOKED: consent {consent_id} was revoked"
        " (obtain the citizen's consent)"
    )


def test_an_officer_fetches_a_range_and_verifies_it_with_the_key_alone(stack: Stack) -> None:
    home = stack.home.root
    stack.member(ELIGIBILITY_ID)
    stack.auditor()
    nik = stack.people.employed

    async def exchange() -> None:
        async with stack.client() as client:
            for _ in range(3):
                await employment_query(client, nik, stack.consent(nik)[0])

    asyncio.run(exchange())
    export = home / "range.jsonl"
    end = stack.log_size()
    fetched = jembatan(
        "audit", "fetch", "0", str(end), "--out", str(export), "--hub", stack.address, home=home
    )
    assert fetched.returncode == 0, fetched.stderr
    assert f"{end} records" in fetched.stdout
    key = f"@{stack.home.log_verifier_key}"
    verified = jembatan("audit", "verify", str(export), "--key", key)
    assert verified.returncode == 0, verified.stderr
    assert f"records [0, {end}) each proven" in verified.stdout

    lines = export.read_text().splitlines()
    export.write_text("\n".join([*lines[:2], *lines[3:]]) + "\n")
    broken = jembatan("audit", "verify", str(export), "--key", key)
    assert broken.returncode == 1
    assert broken.stderr.strip() == "jembatan: record 1: export out of sequence: found index 2"

    not_officer = jembatan(
        "audit",
        "fetch",
        "0",
        "1",
        "--out",
        str(export),
        "--hub",
        stack.address,
        "--member",
        ELIGIBILITY_ID,
        home=home,
    )
    assert not_officer.returncode == 1
    assert "ROLE_REQUIRED" in not_officer.stderr


def test_a_revoked_officers_fetch_is_refused_in_one_line_and_recorded(stack: Stack) -> None:
    officer = "ID/GOV/BSSN/auditor-revoked-cli"
    files = enrol(stack.home, officer, roles=["auditor"])
    revoke_certificate(stack.home, str(files.cert_path), "left the unit")
    before = stack.log_size()
    fetched = jembatan(
        "audit",
        "fetch",
        "0",
        "1",
        "--out",
        str(stack.home.root / "revoked.jsonl"),
        "--hub",
        stack.address,
        "--member",
        officer,
        home=stack.home.root,
    )
    assert fetched.returncode == 1
    (line,) = fetched.stderr.splitlines()
    assert line.startswith("jembatan: refused: UNAUTHENTICATED") and "REVOKED" not in line
    (record,) = stack.records(before)
    assert (record.client_id, record.service_id, record.reason) == (
        officer,
        "jembatan.v1.Audit/ExportRange",
        "CERT_REVOKED",
    )


def test_enrolment_by_csr_from_the_command_line(stack: Stack, tmp_path: Path) -> None:
    """A member submits a CSR, an administrator approves it, the member fetches the
    certificate; a member without the role is refused in one line."""
    home = stack.home.root
    stack.member(ADMINISTRATOR_ID, ["administrator"])
    hub = ("--hub", stack.address)
    subsystem = "ID/GOV/KEMENSOS/cli-enrolled"
    key, csr, cert = tmp_path / "k.pem", tmp_path / "r.csr", tmp_path / "cert.pem"
    made = jembatan(
        "pki", "csr", "--member", subsystem, "--key-out", str(key), "--csr-out", str(csr)
    )
    assert made.returncode == 0, made.stderr
    submitted = jembatan(
        "member", "enrol", "--csr", str(csr), "--subsystem", subsystem,
        "--member", ELIGIBILITY_ID, *hub, home=home,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    request_id = submitted.stdout.split()[1]
    assert "PENDING" in submitted.stdout
    listed = jembatan("admin", "enrolment", "list", "--state", "pending", *hub, home=home)
    assert request_id in listed.stdout and subsystem in listed.stdout
    refused = jembatan(
        "admin", "enrolment", "approve", request_id, "--member", ELIGIBILITY_ID, *hub, home=home
    )
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "PERMISSION_DENIED ROLE_REQUIRED" in refused.stderr
    approved = jembatan("admin", "enrolment", "approve", request_id, *hub, home=home)
    assert approved.returncode == 0, approved.stderr
    fetched = jembatan(
        "member", "enrolment", request_id, "--cert-out", str(cert),
        "--member", ELIGIBILITY_ID, *hub, home=home,
    )  # fmt: skip
    assert fetched.returncode == 0 and "APPROVED" in fetched.stdout
    assert member_id_of(load_cert_pem(cert.read_bytes())) == subsystem


def test_consent_request_grant_list_receipt_and_reject_from_the_command_line(
    stack: Stack,
) -> None:
    """The lifecycle as operators drive it: the eligibility service requests, the portal
    grants one request and rejects another, the citizen's list and receipt show it."""
    stack.member(ELIGIBILITY_ID)
    stack.member("ID/GOV/KEMENSOS/perlinsos-portal")
    home, hub = stack.home.root, ("--hub", stack.address)
    nik = list(stack.population.people())[-40].nik
    what = ("--service", "ID/GOV/BPJSTK/wages/employment", "--fields", "employment_status")

    def request() -> str:
        asked = jembatan(
            "consent",
            "request",
            "--subject",
            nik,
            "--purpose-text",
            "Cek PKH",
            *what,
            *hub,
            home=home,
        )
        assert asked.returncode == 0, asked.stderr
        assert "REQUESTED" in asked.stdout and nik not in asked.stdout
        return asked.stdout.split()[1]

    granted_id, rejected_id = request(), request()
    granted = jembatan(
        "consent",
        "grant",
        "--request",
        granted_id,
        "--subject",
        nik,
        *what,
        "--days",
        "7",
        "--out",
        str(home / "cli-consent.jws"),
        *hub,
        home=home,
    )
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.startswith(f"consent {granted_id} ACTIVE until ")
    rejected = jembatan("consent", "reject", rejected_id, *hub, home=home)
    assert rejected.stdout.strip() == f"request {rejected_id} REJECTED (citizen-declined)"
    again = jembatan("consent", "reject", rejected_id, *hub, home=home)
    assert again.returncode == 1
    assert again.stderr.startswith("jembatan: refused: FAILED_PRECONDITION CONSENT_STATE_INVALID")

    listed = jembatan("consent", "list", "--subject", nik, *hub, home=home)
    assert listed.returncode == 0, listed.stderr
    states = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()}
    assert states == {granted_id: "ACTIVE", rejected_id: "REJECTED"}

    receipt = jembatan("consent", "receipt", granted_id, "--subject", nik, *hub, home=home)
    assert receipt.returncode == 0, receipt.stderr
    assert f'"record_id": "{granted_id}"' in receipt.stdout and nik not in receipt.stdout
