"""``jembatan pki``: the hub's CA and member certificates, on the hub's host (the home)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.cli.common import (
    REVOCATION_REASON_HELP,
    REVOCATION_REASONS,
    ROLES_HELP,
    CliError,
    add_actions,
    add_command,
    home,
)
from hub.home import CONSENT_MANAGER_ID, HUB_MEMBER_ID


def cmd_pki_init(args: argparse.Namespace) -> None:
    from hub.provisioning import init_consent_manager, init_home

    hub_home = home(args, initialised=False)
    init_home(hub_home, dns_names=args.dns)
    init_consent_manager(hub_home)
    print(f"hub home ready at {hub_home.root}: CA, hub certificate ({HUB_MEMBER_ID}), log key,")
    print(f"pseudonym key, consent manager key ({CONSENT_MANAGER_ID})")


def cmd_pki_csr(args: argparse.Namespace) -> None:
    from cryptography.hazmat.primitives import serialization

    from hub.home import write_private
    from jembatan.certs import make_csr
    from jembatan.keys import generate_key, key_to_pem

    key = generate_key()
    write_private(Path(args.key_out), key_to_pem(key))
    csr = make_csr(key, args.member)
    Path(args.csr_out).write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    print(f"key {args.key_out} (keep it), CSR {args.csr_out} (send it to the hub operator)")


def cmd_pki_issue(args: argparse.Namespace) -> None:
    from cryptography import x509

    from hub.provisioning import issue
    from jembatan.keys import cert_to_pem, serial_text

    try:
        csr = x509.load_pem_x509_csr(Path(args.csr).read_bytes())
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read CSR {args.csr}: {exc}") from exc
    cert = issue(home(args), csr, args.member, valid_days=args.days, roles=args.role)
    Path(args.out).write_bytes(cert_to_pem(cert))
    print(f"issued {args.out} for {args.member}, serial {serial_text(cert)}")


def cmd_pki_enrol(args: argparse.Namespace) -> None:
    from hub.provisioning import enrol

    files = enrol(home(args), args.member, dns_names=args.dns, roles=args.role)
    print(f"enrolled {args.member}: {files.cert_path}")


def cmd_pki_revoke(args: argparse.Namespace) -> None:
    from hub.provisioning import revoke_certificate

    serial, *renewals = revoke_certificate(home(args), args.certificate, args.reason)
    print(f"revoked certificate {serial}; refused from the next call on")
    for renewal in renewals:
        print(f"revoked certificate {renewal}, renewed from it")


def cmd_pki_list(args: argparse.Namespace) -> None:
    from hub.store import open_store

    registry = open_store(home(args))
    try:
        for cert in registry.member_certificates():
            state = f"REVOKED {cert.revoked_at}" if cert.revoked else "valid"
            print(f"{cert.serial:>40}  {cert.member_id:<40} until {cert.not_after}  {state}")
    finally:
        registry.close()


def add_pki_commands(commands: argparse._SubParsersAction) -> None:
    pki = add_command(
        commands,
        "pki",
        "hub CA, member certificates, revocation",
        description="The hub's CA and its members' certificates, kept in the hub home (run"
        " these on the hub's host; `pki csr` is the exception: a member runs it on its side).",
    )
    actions = add_actions(pki, "pki_command")

    init = add_command(
        actions, "init", "create a hub home: CA, hub certificate, keys", cmd_pki_init
    )
    init.add_argument(
        "--dns",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name clients dial the hub by, for the hub certificate to name beside"
        " localhost and 127.0.0.1 (repeatable)",
    )

    csr = add_command(
        actions,
        "csr",
        "make a member key and CSR (on the member's side)",
        cmd_pki_csr,
        epilog="Send the CSR to the hub operator (`jembatan pki issue`), or submit it over the"
        " Admin API (`jembatan member enrol`); the key stays where it was made.",
    )
    csr.add_argument(
        "--member", required=True, metavar="MEMBER_ID", help="member id, e.g. ID/GOV/BPJSTK/wages"
    )
    csr.add_argument(
        "--key-out",
        required=True,
        metavar="FILE",
        help="where to write the new private key (owner-only permissions; keep it)",
    )
    csr.add_argument(
        "--csr-out", required=True, metavar="FILE", help="where to write the CSR (PEM)"
    )

    issue = add_command(actions, "issue", "sign a member's CSR into a certificate", cmd_pki_issue)
    issue.add_argument("--csr", required=True, metavar="FILE", help="the member's CSR (PEM)")
    issue.add_argument(
        "--member",
        required=True,
        metavar="MEMBER_ID",
        help="the member id the certificate names, e.g. ID/GOV/BPJSTK/wages",
    )
    issue.add_argument(
        "--out", required=True, metavar="FILE", help="where to write the certificate (PEM)"
    )
    issue.add_argument("--days", type=int, default=365, help="validity, in days")
    issue.add_argument("--role", action="append", default=[], help=f"{ROLES_HELP} (repeatable)")

    enrol = add_command(
        actions,
        "enrol",
        "key+certificate for a simulated member",
        cmd_pki_enrol,
        description="Make a member's key and certificate in one step, both written under the"
        " hub home (for simulated members and the hub's own officers; a real agency keeps"
        " its key: pki csr).",
    )
    enrol.add_argument(
        "--member",
        required=True,
        metavar="MEMBER_ID",
        help="member id, e.g. ID/GOV/KEMENSOS/eligibility",
    )
    enrol.add_argument(
        "--dns",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name for the certificate to name too (a connector needs none: the hub"
        " checks its member name, whatever host it dials; repeatable)",
    )
    enrol.add_argument("--role", action="append", default=[], help=f"{ROLES_HELP} (repeatable)")

    revoke = add_command(
        actions,
        "revoke",
        "revoke a certificate (serial or file)",
        cmd_pki_revoke,
        description="Revoke a member certificate, and every certificate renewed from it:"
        " refused from the next call on.",
    )
    revoke.add_argument(
        "certificate", help="the certificate's serial number (hex), or its PEM file"
    )
    revoke.add_argument(
        "--reason", default="unspecified", choices=REVOCATION_REASONS, help=REVOCATION_REASON_HELP
    )

    add_command(actions, "list", "list member certificates", cmd_pki_list)
