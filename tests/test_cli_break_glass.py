"""Break-glass from the command line, against the shipped policy (`bansos-emergency`: the
disaster law, two-person approval): the official signs a request naming the law and why, a
supervisor reads and countersigns it, the official sends it; released without consent and
flagged. Without the approval it is refused; an approval of other terms is not sent."""

from __future__ import annotations

from pathlib import Path

from tests.stack import EMPLOYMENT_SERVICE, Stack
from tests.test_cli import jembatan

LAW = "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48"
WHY = "Banjir bandang di Kemiren: keluarga mengungsi, tidak dapat dihubungi"
SUPERVISOR = "ID/GOV/KEMENSOS/supervisor"


def test_an_emergency_query_from_the_command_line(stack: Stack, tmp_path: Path) -> None:
    stack.member(SUPERVISOR, roles=["approver"])
    home = stack.home.root
    nik = stack.people.recently_terminated
    terms = [
        *["query", "--hub", stack.address, "--service", EMPLOYMENT_SERVICE, "--subject", nik],
        *["--fields", "employment_status,termination_date", "--purpose", "bansos-emergency"],
        *["--legal-basis", LAW, "--justification", WHY],
    ]
    alone = jembatan(*terms, home=home)
    assert alone.returncode == 1, alone.stderr
    assert "APPROVAL_REQUIRED" in alone.stderr

    request = tmp_path / "request.b64"
    signed = jembatan(*terms, "--for-approval", str(request), home=home)
    assert signed.returncode == 0, signed.stderr
    assert request.is_file() and "jembatan approve" in signed.stdout

    approved = tmp_path / "approved.b64"
    approval = jembatan(
        *["approve", str(request), "--member", SUPERVISOR, "--out", str(approved)], home=home
    )
    assert approval.returncode == 0, approval.stderr
    # The supervisor is shown what they sign: who asks, for what, on which law and why.
    for shown in ("ID/GOV/KEMENSOS/eligibility", EMPLOYMENT_SERVICE, LAW, WHY):
        assert shown in approval.stdout, approval.stdout

    other = jembatan(
        *[t if t != "employment_status,termination_date" else "employment_status" for t in terms],
        *["--approval", f"@{approved}"],
        home=home,
    )
    assert other.returncode == 2 and "approved request asks for" in other.stderr, other.stderr

    sent = jembatan(*terms, "--approval", f"@{approved}", home=home)
    assert sent.returncode == 0, sent.stderr
    assert "employment_status    inactive" in sent.stdout, sent.stdout
    assert "break-glass" in sent.stdout
    index = int(sent.stdout.split("log index ")[1].split(",")[0])
    record = stack.records(since=index)[0]
    assert (record.break_glass, record.approved_by, record.consent_id) == (True, SUPERVISOR, "")
