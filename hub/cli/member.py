"""``jembatan member``: a member's own requests over the Admin API (gRPC), with its own
certificate: enrolment of its subsystems, renewal, connector registrations."""

from __future__ import annotations

import argparse
from pathlib import Path

from hub.cli.admin import admin_api, admin_call, print_enrolment, print_registration, state
from hub.cli.common import CliError, add_actions, add_command, read


def cmd_member_enrol(args: argparse.Namespace) -> None:
    csr = read(args.csr, "CSR")
    done = admin_call(args, lambda c: c.submit_enrolment(csr, args.subsystem, args.role))
    print(f"enrolment {done.request_id} for {done.member_id} is {state(done.state)}")


def cmd_member_enrolment(args: argparse.Namespace) -> None:
    done = admin_call(args, lambda c: c.enrolment(args.request_id))
    print_enrolment(done)
    if done.certificate_pem and args.cert_out:
        Path(args.cert_out).write_bytes(done.certificate_pem)
        print(f"certificate written to {args.cert_out}")


def cmd_member_renew(args: argparse.Namespace) -> None:
    csr = read(args.csr, "CSR")
    done = admin_call(args, lambda c: c.renew(csr))
    Path(args.cert_out).write_bytes(done.certificate_pem)
    print(f"renewed {done.member_id}: {args.cert_out}, serial {done.serial}")


def cmd_member_register_connector(args: argparse.Namespace) -> None:
    import yaml

    from connectors.sdk.agency import FieldSpec

    try:
        document = yaml.safe_load(read(args.catalogue, "catalogue"))
        services = {
            service_id: [FieldSpec(**spec) for spec in fields]
            for service_id, fields in document.items()
        }
    except (yaml.YAMLError, AttributeError, TypeError) as exc:
        raise CliError(
            f"{args.catalogue}: expected SERVICE_ID: [{{name, type, description, sensitivity}}]"
        ) from exc
    done = admin_call(args, lambda c: c.register_connector(args.endpoint, services))
    print_registration(done)


def cmd_member_connector(args: argparse.Namespace) -> None:
    print_registration(admin_call(args, lambda c: c.connector_registration(args.registration_id)))


# --- parser ------------------------------------------------------------------------------


def add_member_commands(commands: argparse._SubParsersAction) -> None:
    member = add_command(
        commands,
        "member",
        "a member's own requests: enrolment, renewal, connectors (gRPC)",
        description="A member's own requests over the hub's Admin API (gRPC), with its own"
        " certificate (--member): enrolment of its subsystems, renewal, connector"
        " registrations. An administrator decides them (jembatan admin).",
    )
    acts = add_actions(member, "member_command")

    enrol = add_command(
        acts,
        "enrol",
        "submit a CSR for a subsystem (see pki csr)",
        cmd_member_enrol,
        parents=[admin_api(None)],
        description="Submit a CSR for a subsystem of the calling member's organisation (make"
        " it with pki csr); prints the enrolment request's id, for an administrator to"
        " approve.",
    )
    enrol.add_argument("--csr", required=True, metavar="FILE", help="the CSR (PEM)")
    enrol.add_argument(
        "--subsystem", required=True, metavar="MEMBER_ID", help="member id the CSR is for"
    )
    enrol.add_argument(
        "--role",
        action="append",
        default=[],
        help="a role to ask for: auditor, administrator, approver or console (repeatable)",
    )

    fetch = add_command(
        acts,
        "enrolment",
        "an enrolment's state and certificate",
        cmd_member_enrolment,
        parents=[admin_api(None)],
    )
    fetch.add_argument("request_id", help="the enrolment request's id (enr-…)")
    fetch.add_argument(
        "--cert-out", metavar="FILE", help="write the certificate here once approved"
    )

    renew = add_command(
        acts,
        "renew",
        "a new certificate now: same id and roles, 365 days",
        cmd_member_renew,
        parents=[admin_api(None)],
        description="A new certificate for the calling member, now: same id and roles, valid"
        " 365 days, for a new key (its CSR).",
    )
    renew.add_argument("--csr", required=True, metavar="FILE", help="a CSR for the new key (PEM)")
    renew.add_argument(
        "--cert-out", required=True, metavar="FILE", help="where to write the new certificate"
    )

    register = add_command(
        acts,
        "register-connector",
        "register a connector",
        cmd_member_register_connector,
        parents=[admin_api(None)],
        description="Register the calling agency's connector and the services it offers;"
        " an administrator's approval makes its routes live.",
    )
    register.add_argument(
        "--endpoint", required=True, metavar="HOST:PORT", help="HOST:PORT the hub dials"
    )
    register.add_argument(
        "--catalogue",
        required=True,
        metavar="FILE",
        help="YAML: SERVICE_ID: [{name, type, description, sensitivity}]",
    )

    add_command(
        acts,
        "connector",
        "a connector registration's state",
        cmd_member_connector,
        parents=[admin_api(None)],
    ).add_argument("registration_id", help="the registration's id (con-…)")
