"""``jembatan consent``: consent requests, artefacts, receipts and revocations.

Granting, rejecting, listing, receipts and revocation are the consent manager's acts (its
key and certificate under the home); a request is made by the member that wants the data.
"""

from __future__ import annotations

import argparse
import datetime
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hub.cli.common import (
    ELIGIBILITY,
    PURPOSE,
    CliError,
    add_actions,
    add_command,
    home,
    hub_call,
    hub_option,
    member_connection,
    split,
)
from hub.home import CONSENT_MANAGER_ID, HubHome

if TYPE_CHECKING:
    from jembatan.client import HubClient

T = TypeVar("T")


def _consent_key(hub_home: HubHome) -> object:
    from jembatan.keys import load_ed25519_private_pem

    path = hub_home.member_dir(CONSENT_MANAGER_ID) / "consent.key"
    try:
        return load_ed25519_private_pem(path.read_bytes())
    except OSError as exc:
        raise CliError(f"no consent manager key at {path} (run `jembatan pki init`)") from exc


def _subject_token(hub_home: HubHome, nik: str) -> str:
    from consent.artefact import sign_subject_token

    try:
        return sign_subject_token(nik, _consent_key(hub_home), issuer=CONSENT_MANAGER_ID)  # type: ignore[arg-type]
    except ValueError as exc:
        raise CliError(f"--subject: {exc}") from exc


def cmd_consent_request(args: argparse.Namespace) -> None:
    record = hub_call(
        home(args),
        args.member,
        args.hub,
        lambda member: member.request_consent(
            subject=args.subject,
            purpose=args.purpose,
            purpose_text=args.purpose_text,
            services={args.service: split(args.fields)},
            valid_for_s=args.days * 86400,
            data_life_s=args.data_days * 86400,
            respond_within_s=args.respond_within,
        ),
    )
    print(f"request {record.consent_id} REQUESTED, to be answered by {record.respond_by}")


def _as_portal(
    hub_home: HubHome, args: argparse.Namespace, act: Callable[[HubClient], Awaitable[T]]
) -> T:
    """What ``act`` makes of the hub as the consent manager (the citizens' portal)."""
    return hub_call(hub_home, CONSENT_MANAGER_ID, args.hub, act)


def _check_fields(args: argparse.Namespace) -> None:
    """Refuse a grant naming a service or a field the service's catalogue does not have: a
    consent to a misspelt field would be granted, and cover nothing anyone can ask for."""
    import difflib

    from hub.cli.policy import catalogues_for

    catalogues = catalogues_for(args)
    if args.service not in catalogues:
        raise CliError(f"cannot grant: unknown service {args.service}")
    known = [spec.name for spec in catalogues[args.service]]
    for name in split(args.fields):
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (it has {', '.join(known)})"
            raise CliError(f"cannot grant: {args.service} has no field {name!r}{hint}")


def cmd_consent_grant(args: argparse.Namespace) -> None:
    from consent.artefact import grant, sign_consent
    from jembatan.v1 import consent_pb2

    hub_home = home(args)
    _check_fields(args)
    try:
        artefact = grant(
            issuer=CONSENT_MANAGER_ID,
            subject=args.subject,
            grantee=args.grantee,
            purpose=args.purpose,
            services={args.service: split(args.fields)},
            valid_for=datetime.timedelta(days=args.days),
            consent_id=args.request,
        )
    except ValueError as exc:
        raise CliError(f"cannot grant: {exc}") from exc
    token = sign_consent(artefact, _consent_key(hub_home))  # type: ignore[arg-type]
    record = _as_portal(
        hub_home, args, lambda portal: portal.grant_consent(token, request_id=args.request or "")
    )
    state = consent_pb2.ConsentState.Name(record.state)
    where = f", artefact written to {args.out}" if args.out else ""
    print(f"consent {record.consent_id} {state} until {record.expires_at}{where}")
    if args.out:
        Path(args.out).write_text(token + "\n")
    else:
        print(token)


def cmd_consent_reject(args: argparse.Namespace) -> None:
    record = _as_portal(
        home(args), args, lambda portal: portal.reject_consent(args.request_id, args.reason)
    )
    print(f"request {record.consent_id} REJECTED ({record.rejection_reason})")


def cmd_consent_list(args: argparse.Namespace) -> None:
    from jembatan.v1 import consent_pb2

    hub_home = home(args)
    token = _subject_token(hub_home, args.subject)
    records = _as_portal(hub_home, args, lambda portal: portal.citizen_consents(token))
    for r in records:
        services = r.granted or r.requested
        covers = "; ".join(f"{s.service_id}: {','.join(s.fields)}" for s in services)
        print(
            f"{r.consent_id}  {consent_pb2.ConsentState.Name(r.state):<9}  {r.grantee}"
            f"  {r.purpose}  until {r.expires_at or r.respond_by}"
            f"  uses {r.uses}{' last ' + r.last_used if r.last_used else ''}  {covers}"
        )
    if not records:
        print("no consents")


def cmd_consent_receipt(args: argparse.Namespace) -> None:
    from consent.receipt import verify_consent_receipt
    from jembatan.keys import load_ed25519_public_pem

    hub_home = home(args)
    token = _subject_token(hub_home, args.subject)
    receipt = _as_portal(
        hub_home, args, lambda portal: portal.consent_receipt(token, args.consent_id)
    )
    # Checked before it is handed on: a receipt the hub's key does not verify is worthless.
    document = verify_consent_receipt(
        receipt, load_ed25519_public_pem(hub_home.log_public_key.read_bytes())
    )
    if args.out:
        Path(args.out).write_text(receipt + "\n")
    print(json.dumps(document, indent=2, sort_keys=True))


def cmd_consent_revoke(args: argparse.Namespace) -> None:
    from consent.artefact import sign_revocation

    hub_home = home(args)
    revocation = sign_revocation(args.consent_id, _consent_key(hub_home), issuer=CONSENT_MANAGER_ID)  # type: ignore[arg-type]
    response = _as_portal(hub_home, args, lambda portal: portal.revoke_consent(revocation))
    print(f"consent {response.consent_id} revoked at {response.revoked_at}")


# --- parser ------------------------------------------------------------------------------


def _subject() -> argparse.ArgumentParser:
    """A parent parser: the citizen a consent is about."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--subject", required=True, metavar="NIK", help="the citizen's NIK")
    return parent


def _scope() -> argparse.ArgumentParser:
    """A parent parser: what a consent covers (with ``--days``, whose meaning differs)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--purpose", default=PURPOSE, help="the purpose code the data is for")
    parent.add_argument(
        "--service",
        required=True,
        metavar="SERVICE_ID",
        help="the service the data comes from, e.g. ID/GOV/BPJSTK/wages/employment",
    )
    parent.add_argument(
        "--fields", required=True, help="comma-separated field names of that service"
    )
    return parent


def add_consent_commands(commands: argparse._SubParsersAction) -> None:
    consent = add_command(
        commands,
        "consent",
        "consent artefacts (the consent manager's side)",
        description="Consent requests, grants, receipts and revocations. A request is made by"
        " the member that wants the data; the rest are the consent manager's acts, signed"
        " with its key in the hub home.",
    )
    actions = add_actions(consent, "consent_command")

    request = add_command(
        actions,
        "request",
        "ask for a citizen's consent",
        cmd_consent_request,
        parents=[
            _subject(),
            _scope(),
            member_connection(
                ELIGIBILITY,
                member_help="the member asking, who will be the grantee (its key and"
                " certificate under the home)",
                member_dir=False,
            ),
        ],
        description="Ask for a citizen's consent: the hub records a request (REQUESTED) for"
        " the consent manager to put to the citizen, and prints its id.",
    )
    request.add_argument(
        "--purpose-text", required=True, help="the sentence the citizen sees, saying why"
    )
    request.add_argument(
        "--days", type=int, default=30, help="how long the consent would be valid, in days"
    )
    request.add_argument(
        "--data-days",
        type=int,
        default=90,
        help="how long the grantee may keep the data it gets, in days",
    )
    request.add_argument(
        "--respond-within",
        type=int,
        default=0,
        metavar="SECONDS",
        help="how long the citizen has to answer; 0: the hub's limit",
    )

    grant = add_command(
        actions,
        "grant",
        "sign a consent artefact and grant it",
        cmd_consent_grant,
        parents=[_subject(), _scope(), hub_option()],
        description="Sign a consent artefact with the consent manager's key and grant it at"
        " the hub; it is printed, or written to --out (a query gives it as --consent @FILE).",
    )
    grant.add_argument(
        "--request",
        metavar="REQUEST_ID",
        help="the consent request it answers (default: none, a direct grant)",
    )
    grant.add_argument(
        "--grantee", default=ELIGIBILITY, metavar="MEMBER_ID", help="the member it is granted to"
    )
    grant.add_argument("--days", type=int, default=30, help="how long it is valid, in days")
    grant.add_argument(
        "--out", metavar="FILE", help="write the artefact to this file instead of printing it"
    )

    reject = add_command(
        actions,
        "reject",
        "turn a consent request down",
        cmd_consent_reject,
        parents=[hub_option()],
    )
    reject.add_argument("request_id", help="the consent request's id")
    reject.add_argument("--reason", default="citizen-declined", help="a reason code")

    add_command(
        actions,
        "list",
        "a citizen's consents",
        cmd_consent_list,
        parents=[_subject(), hub_option()],
        description="List a citizen's consents, as the portal sees them: state, grantee,"
        " purpose, expiry, uses.",
    )

    receipt = add_command(
        actions,
        "receipt",
        "a citizen's signed consent receipt",
        cmd_consent_receipt,
        parents=[_subject(), hub_option()],
        description="Fetch a citizen's consent receipt signed by the hub, verify it with the"
        " hub's log key and print it as JSON.",
    )
    receipt.add_argument("consent_id", help="the consent's id")
    receipt.add_argument(
        "--out", metavar="FILE", help="also write the signed receipt (JWS) to this file"
    )

    revoke = add_command(
        actions,
        "revoke",
        "revoke a consent at the hub",
        cmd_consent_revoke,
        parents=[hub_option()],
        description="Revoke a consent at the hub: the next query that gives it is refused.",
    )
    revoke.add_argument("consent_id", help="the consent's id")
