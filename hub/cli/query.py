"""``jembatan query``: send one signed query, as a member of the hub home."""

from __future__ import annotations

import argparse

from hub.cli.common import (
    ELIGIBILITY,
    PURPOSE,
    add_command,
    home,
    hub_call,
    member_connection,
    split,
    text_arg,
)


def cmd_query(args: argparse.Namespace) -> None:
    consent = text_arg(args.consent, "--consent")
    answer = hub_call(
        home(args),
        args.client,
        args.hub,
        lambda member: member.query(
            service_id=args.service,
            subject=args.subject,
            purpose=args.purpose,
            fields=split(args.fields),
            consent=consent,
        ),
        args.member_dir,
    )
    if not answer.subject_found:
        print("the agency holds no record of this subject")
    for name, released in answer.fields.items():
        how = f"{released.treatment} {released.detail}".strip()
        print(f"{name:<20} {released.value!s:<24} ({how})")
    print(f"recorded at log index {answer.log_index}, leaf {answer.leaf_hash.hex()[:16]}…")


def add_query_command(commands: argparse._SubParsersAction) -> None:
    query = add_command(
        commands,
        "query",
        "send one signed query",
        cmd_query,
        parents=[
            member_connection(
                ELIGIBILITY,
                flag="--client",
                member_help="the member asking (its key.pem and cert.pem under the home)",
            )
        ],
        description="Send one signed query for a citizen's fields, with the citizen's consent;"
        " prints each field released, how (e.g. banded), and the audit log index of the"
        " exchange.",
    )
    query.add_argument(
        "--service",
        required=True,
        metavar="SERVICE_ID",
        help="the service to ask, e.g. ID/GOV/BPJSTK/wages/employment",
    )
    query.add_argument("--subject", required=True, metavar="NIK", help="the citizen's NIK")
    query.add_argument("--purpose", default=PURPOSE, help="the purpose code it asks for")
    query.add_argument("--fields", required=True, help="comma-separated field names")
    query.add_argument(
        "--consent",
        required=True,
        metavar="JWS",
        help="the consent artefact (JWS), or @FILE to read it from (consent grant --out)",
    )
