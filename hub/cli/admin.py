"""``jembatan admin``: an administrator's acts over the Admin API (gRPC), with the caller's
certificate: enrolments, revocation, connector registrations, services.

The Admin API client helpers here serve ``jembatan member`` too (``hub.cli.member``).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from hub.cli.common import (
    ADMINISTRATOR,
    REVOCATION_REASON_HELP,
    REVOCATION_REASONS,
    Command,
    add_actions,
    add_command,
    connected,
    home,
    member_connection,
    member_credentials,
    read,
)

if TYPE_CHECKING:
    from jembatan.client import AdminClient
    from jembatan.v1 import admin_pb2

T = TypeVar("T")
STATES = ["pending", "approved", "rejected"]


def admin_client(args: argparse.Namespace) -> AdminClient:
    """An Admin API client with the certificate of ``--member`` (or ``--member-dir``)."""
    from jembatan.client import AdminClient

    # A member on its own side names its key and the hub CA: it needs no hub home.
    hub_home = home(args, initialised=not (args.ca and args.member_dir))
    key_pem, cert_pem = member_credentials(hub_home, args.member, args.member_dir)
    ca_pem = read(args.ca or str(hub_home.ca_cert), "hub CA")
    return AdminClient(args.hub, key_pem=key_pem, cert_pem=cert_pem, ca_pem=ca_pem)


def admin_call(args: argparse.Namespace, act: Callable[[AdminClient], Awaitable[T]]) -> T:
    return connected(lambda: admin_client(args), act)


def state(value: int) -> str:
    from jembatan.v1 import admin_pb2

    return admin_pb2.RequestState.Name(value).removeprefix("REQUEST_")


def print_enrolment(e: admin_pb2.Enrolment) -> None:
    roles = ",".join(e.roles) or "-"
    why = f"  ({e.reason})" if e.reason else ""
    print(
        f"{e.request_id}  {state(e.state):<8} {e.member_id:<40} roles {roles}"
        f"  by {e.submitter}{why}"
    )


def print_registration(r: admin_pb2.ConnectorRegistration) -> None:
    services = ", ".join(
        f"{o.service_id}"
        + (
            f" v{r.catalogue_versions[o.service_id]}"
            if o.service_id in r.catalogue_versions
            else ""
        )
        for o in r.services
    )
    why = f"  ({r.reason})" if r.reason else ""
    print(
        f"{r.registration_id}  {state(r.state):<8} {r.agency_id} at {r.endpoint}: {services}{why}"
    )


def cmd_admin_enrolment_list(args: argparse.Namespace) -> None:
    for enrolment in admin_call(args, lambda c: c.enrolments(args.state)):
        print_enrolment(enrolment)


def cmd_admin_enrolment_approve(args: argparse.Namespace) -> None:
    done = admin_call(args, lambda c: c.approve_enrolment(args.request_id, args.days))
    print(f"approved {done.request_id}: {done.member_id}, certificate serial {done.serial}")


def cmd_admin_enrolment_reject(args: argparse.Namespace) -> None:
    done = admin_call(args, lambda c: c.reject_enrolment(args.request_id, args.reason))
    print(f"rejected {done.request_id} ({done.member_id}): {done.reason}")


def cmd_admin_revoke(args: argparse.Namespace) -> None:
    done = admin_call(args, lambda c: c.revoke(args.serial, args.reason))
    print(
        f"revoked certificate {done.serial} of {done.member_id}, and every certificate renewed"
        " from it; refused from the next call on"
    )


def cmd_admin_connector_list(args: argparse.Namespace) -> None:
    for registration in admin_call(args, lambda c: c.connector_registrations(args.state)):
        print_registration(registration)


def cmd_admin_connector_approve(args: argparse.Namespace) -> None:
    print_registration(admin_call(args, lambda c: c.approve_connector(args.registration_id)))


def cmd_admin_connector_reject(args: argparse.Namespace) -> None:
    done = admin_call(args, lambda c: c.reject_connector(args.registration_id, args.reason))
    print_registration(done)


def cmd_admin_service_enable(args: argparse.Namespace) -> None:
    done = admin_call(args, lambda c: c.set_service_enabled(args.service, True))
    print(f"service {done.service_id} enabled")


def cmd_admin_service_disable(args: argparse.Namespace) -> None:
    done = admin_call(args, lambda c: c.set_service_enabled(args.service, False))
    print(f"service {done.service_id} disabled: refused SERVICE_DISABLED from the next query on")


# --- parser ------------------------------------------------------------------------------


def admin_api(member: str | None) -> argparse.ArgumentParser:
    """A parent parser: who calls the Admin API (``--member``), at which hub, trusting
    which CA. ``member`` None: the caller must say who it is."""
    return member_connection(
        member,
        member_help="the calling member id (its key.pem and cert.pem under the home)"
        if member is None
        else "the administrator's member id (its certificate has the administrator role)",
        ca=True,
    )


def add_admin_commands(commands: argparse._SubParsersAction) -> None:
    def command(
        group: argparse._SubParsersAction,
        name: str,
        help_text: str,
        func: Command,
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        return add_command(
            group,
            name,
            help_text,
            func,
            description=description,
            parents=[admin_api(ADMINISTRATOR)],
        )

    admin = add_command(
        commands,
        "admin",
        "administrator: enrolments, revocation, connectors, services (gRPC)",
        description="An administrator's acts over the hub's Admin API (gRPC), with the"
        " caller's certificate (the administrator role): enrolments, revocation, connector"
        " registrations, services.",
    )
    groups = add_actions(admin, "admin_command")

    enrolment = add_command(
        groups,
        "enrolment",
        "enrolment requests",
        description="Enrolment requests: CSRs members submitted (`jembatan member enrol`),"
        " to approve or reject.",
    )
    acts = add_actions(enrolment, "enrolment_command")
    listing = command(acts, "list", "list enrolment requests", cmd_admin_enrolment_list)
    listing.add_argument("--state", choices=STATES, help="only requests in this state")
    approve = command(
        acts,
        "approve",
        "issue the certificate",
        cmd_admin_enrolment_approve,
        "Approve an enrolment request: the hub issues its certificate (the member fetches it"
        " with `jembatan member enrolment`).",
    )
    approve.add_argument("request_id", help="the enrolment request's id (enr-…)")
    approve.add_argument(
        "--days", type=int, default=0, help="validity in days; 0: the hub's default, 365"
    )
    reject = command(
        acts,
        "reject",
        "reject, with a reason",
        cmd_admin_enrolment_reject,
        "Reject an enrolment request, with a reason the member sees.",
    )
    reject.add_argument("request_id", help="the enrolment request's id (enr-…)")
    reject.add_argument("--reason", required=True, help="why, told to the member")

    revoke = command(
        groups,
        "revoke",
        "revoke a certificate by serial",
        cmd_admin_revoke,
        "Revoke a certificate by serial, and every certificate renewed from it: refused from"
        " the next call on.",
    )
    revoke.add_argument("serial", help="the certificate's serial number (hex)")
    revoke.add_argument(
        "--reason", default="unspecified", choices=REVOCATION_REASONS, help=REVOCATION_REASON_HELP
    )

    connector = add_command(
        groups,
        "connector",
        "connector registrations",
        description="Connector registrations members submitted (`jembatan member"
        " register-connector`), to approve or reject.",
    )
    acts = add_actions(connector, "connector_command")
    clist = command(acts, "list", "list connector registrations", cmd_admin_connector_list)
    clist.add_argument("--state", choices=STATES, help="only registrations in this state")
    capprove = command(
        acts,
        "approve",
        "make its routes live",
        cmd_admin_connector_approve,
        "Approve a connector registration: the hub routes its services to its endpoint from"
        " now on, each catalogue versioned.",
    )
    capprove.add_argument("registration_id", help="the registration's id (con-…)")
    creject = command(
        acts,
        "reject",
        "reject, with a reason",
        cmd_admin_connector_reject,
        "Reject a connector registration, with a reason the member sees.",
    )
    creject.add_argument("registration_id", help="the registration's id (con-…)")
    creject.add_argument("--reason", required=True, help="why, told to the member")

    service = add_command(
        groups,
        "service",
        "switch services off and on",
        description="Switch a routed service off and on, without touching its registration.",
    )
    acts = add_actions(service, "service_command")
    disable = command(
        acts,
        "disable",
        "disable a service",
        cmd_admin_service_disable,
        "Disable a service: its queries are refused SERVICE_DISABLED until it is enabled again.",
    )
    enable = command(acts, "enable", "enable a service", cmd_admin_service_enable)
    for sub in (disable, enable):
        sub.add_argument("service", metavar="SERVICE_ID", help="the service's id")
