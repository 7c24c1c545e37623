"""``jembatan query``: send one signed query, as a member of the hub home; and ``jembatan
approve``: a second official's countersignature on a break-glass query.

Break-glass (a purpose whose policy rule rests on a law instead of consent, with two-person
approval) is three steps: the official signs the request and writes it (``query
--legal-basis … --justification … --for-approval FILE``); a supervisor reads it and
countersigns it (``approve FILE``); the official sends the approved request (``query …
--approval @FILE``, the same terms again: what is sent is what was approved, checked). The
whole takes less than the request's lifetime (the hub's freshness window).
"""

from __future__ import annotations

import argparse
import base64
import binascii
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.common import (
    ELIGIBILITY,
    PURPOSE,
    CliError,
    add_command,
    home,
    hub_call,
    member_connection,
    read,
    split,
    text_arg,
)

if TYPE_CHECKING:
    from jembatan.client import HubClient, QueryAnswer
    from jembatan.v1 import exchange_pb2


def _encode(request: exchange_pb2.QueryRequest) -> str:
    return base64.b64encode(request.SerializeToString(deterministic=True)).decode() + "\n"


def _decode(text: str, what: str) -> tuple[exchange_pb2.QueryRequest, exchange_pb2.QueryBody]:
    from google.protobuf.message import DecodeError

    from jembatan.v1 import exchange_pb2

    try:
        request = exchange_pb2.QueryRequest.FromString(
            base64.b64decode(text.strip(), validate=True)
        )
        body = exchange_pb2.QueryBody.FromString(request.body)
    except (binascii.Error, DecodeError) as exc:
        raise CliError(f"{what}: not a signed request written by `jembatan query`") from exc
    return request, body


def _body(args: argparse.Namespace, member: HubClient, consent: str) -> exchange_pb2.QueryBody:
    from jembatan.v1 import exchange_pb2

    basis = None
    if args.legal_basis:
        basis = exchange_pb2.LegalBasis(
            reference=args.legal_basis, justification=args.justification
        )
    return member.body(
        service_id=args.service,
        subject=args.subject,
        purpose=args.purpose,
        fields=split(args.fields),
        consent=consent,
        legal_basis=basis,
    )


def _approved(args: argparse.Namespace) -> exchange_pb2.QueryRequest:
    """The approved request of ``--approval``, if it is for exactly this command's terms."""
    request, body = _decode(text_arg(args.approval, "--approval"), "--approval")
    asked = (args.service, args.subject, args.purpose, split(args.fields), args.legal_basis or "")
    approved = (
        body.service_id,
        body.subject,
        body.purpose,
        list(body.fields),
        body.legal_basis.reference,
    )
    if asked != approved or body.client_id != args.client:
        raise CliError(
            "the approved request asks for other terms than this command: send it with the"
            " service, subject, purpose, fields and legal basis it was approved for"
        )
    if not request.approval:
        raise CliError("--approval: this request carries no approval (run `jembatan approve`)")
    return request


def cmd_query(args: argparse.Namespace) -> None:
    if bool(args.consent) == bool(args.legal_basis):
        raise CliError("a query rests on --consent, or on --legal-basis (break-glass): one of them")
    if bool(args.legal_basis) != bool(args.justification):
        raise CliError("--legal-basis and --justification go together")
    approved = _approved(args) if args.approval else None
    consent = text_arg(args.consent, "--consent") if args.consent else ""

    async def sign(member: HubClient) -> exchange_pb2.QueryRequest:
        return member.sign(_body(args, member, consent))

    async def ask(member: HubClient) -> QueryAnswer:
        return await member.send(approved or member.sign(_body(args, member, consent)))

    if args.for_approval:
        signed = hub_call(home(args), args.client, args.hub, sign, args.member_dir)
        Path(args.for_approval).write_text(_encode(signed))
        print(
            f"signed request written to {args.for_approval}; a supervisor countersigns it"
            f" (jembatan approve {args.for_approval} --member APPROVER --out FILE) and it is"
            " sent with these terms and --approval @FILE, before it expires"
        )
        return
    answer = hub_call(home(args), args.client, args.hub, ask, args.member_dir)
    if not answer.subject_found:
        print("the agency holds no record of this subject")
    for name, released in answer.fields.items():
        how = f"{released.treatment} {released.detail}".strip()
        print(f"{name:<20} {released.value!s:<24} ({how})")
    if args.legal_basis:
        print(f"break-glass under {args.legal_basis}: flagged in the log for officers' review")
    print(f"recorded at log index {answer.log_index}, leaf {answer.leaf_hash.hex()[:16]}…")


def cmd_approve(args: argparse.Namespace) -> None:
    request, body = _decode(read(args.request, "the request").decode(), args.request)
    basis = body.legal_basis
    # What the approver signs for, in full: the approval covers exactly these bytes.
    print(f"{body.client_id} asks {body.service_id} for {', '.join(body.fields)}")
    print(f"  of subject {body.subject}, for purpose {body.purpose}")
    print(f"  under {basis.reference or '(no legal basis)'}: {basis.justification}")

    async def approve(approver: HubClient) -> exchange_pb2.QueryRequest:
        return approver.approve(request)

    approved = hub_call(home(args), args.member, args.hub, approve, args.member_dir)
    Path(args.out).write_text(_encode(approved))
    print(f"approved as {args.member}: {args.out}, for `jembatan query … --approval @{args.out}`")


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
        description="Send one signed query for a citizen's fields, with the citizen's consent"
        " or, break-glass, on a legal basis; prints each field released, how (e.g. banded),"
        " and the audit log index of the exchange.",
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
        metavar="JWS",
        help="the consent artefact (JWS), or @FILE to read it from (consent grant --out);"
        " a query gives this or --legal-basis",
    )
    emergency = query.add_argument_group(
        "break-glass",
        "a purpose whose policy rule rests on a law, not consent (e.g. bansos-emergency):"
        " the query names the law and why, and a supervisor approves it (jembatan approve)",
    )
    emergency.add_argument(
        "--legal-basis",
        metavar="REFERENCE",
        help="the law the policy rule names, e.g. 'UU 24/2007 tentang Penanggulangan"
        " Bencana, Pasal 48' (policy explain shows it)",
    )
    emergency.add_argument(
        "--justification", metavar="TEXT", help="why, for the officers who review it"
    )
    emergency.add_argument(
        "--for-approval",
        metavar="FILE",
        help="sign the request and write it to FILE for a supervisor, instead of sending it",
    )
    emergency.add_argument(
        "--approval",
        metavar="@FILE",
        help="send the request a supervisor approved (approve --out), the same terms given again",
    )

    approve = add_command(
        commands,
        "approve",
        "countersign a break-glass query as its second official",
        cmd_approve,
        parents=[
            member_connection(
                None,
                member_help="the approving member (its certificate has the approver role)",
            )
        ],
        description="Countersign a break-glass query (query --for-approval) as the second"
        " official of a two-person rule: prints what it asks, signs exactly that, and writes"
        " the approved request for the official to send (query --approval @FILE).",
    )
    approve.add_argument("request", help="the signed request file (query --for-approval)")
    approve.add_argument(
        "--out", required=True, metavar="FILE", help="where to write the approved request"
    )
