"""``jembatan portal``: the citizens' Portal Perlinsos, and its simulated SMS outbox."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.common import (
    ELIGIBILITY,
    CliError,
    add_actions,
    add_command,
    home,
    hub_option,
    listen_address,
    run_async,
    until_signalled,
)
from hub.home import CONSENT_MANAGER_ID, HubHome

if TYPE_CHECKING:
    from portal.store import PortalStore

# Read here, never shown by --help: a DSN may carry a password.
STORE_ENV = "JEMBATAN_PORTAL_DATABASE"


def _state_dir(hub_home: HubHome, args: argparse.Namespace) -> Path:
    return Path(args.state) if args.state else hub_home.root / "portal"


def _store(hub_home: HubHome, args: argparse.Namespace) -> str:
    return (
        args.store or os.environ.get(STORE_ENV, "") or str(_state_dir(hub_home, args) / "portal.db")
    )


def cmd_portal(args: argparse.Namespace) -> None:
    from portal.serve import MemberFiles, PortalConfig, start
    from portal.signin import SignInPolicy

    hub_home = home(args)
    portal_dir = hub_home.member_dir(CONSENT_MANAGER_ID)
    eligibility_dir = hub_home.member_dir(args.eligibility)
    for needed in (
        portal_dir / "cert.pem",
        portal_dir / "consent.key",
        eligibility_dir / "cert.pem",
    ):
        if not needed.is_file():
            raise CliError(f"no {needed}: enrol the portal and the eligibility service first")
    config = PortalConfig(
        hub=args.hub,
        ca_cert=hub_home.ca_cert,
        log_public_key=hub_home.log_public_key,
        portal=MemberFiles(portal_dir / "key.pem", portal_dir / "cert.pem"),
        consent_key=portal_dir / "consent.key",
        eligibility=MemberFiles(eligibility_dir / "key.pem", eligibility_dir / "cert.pem"),
        state_dir=_state_dir(hub_home, args),
        store=_store(hub_home, args),
        seed=args.seed,
        scale=args.scale,
        criteria=Path(args.criteria) if args.criteria else None,
        secure_cookies=args.secure_cookies,
        answer_within_s=args.answer_within,
        watch_every_s=args.watch_every,
        policy=SignInPolicy(
            code_ttl_s=args.code_ttl,
            session_ttl_s=args.session_ttl,
            max_attempts=args.max_attempts,
            max_codes=args.max_codes,
        ),
    )

    async def run() -> None:
        running = await start(config, args.listen)
        print(f"jembatan portal listening on {running.address} (hub {args.hub})", flush=True)
        await until_signalled()
        await running.stop()

    run_async(run())


def cmd_portal_outbox(args: argparse.Namespace) -> None:
    from portal.i18n import wib
    from portal.store import open_portal_store

    hub_home = home(args)
    location = _store(hub_home, args)
    if "://" not in location and not Path(location).is_file():
        print(f"no messages (no portal store at {location} yet)")
        return
    store = open_portal_store(location)
    try:
        messages = store.outbox(args.phone)
    finally:
        store.close()
    for sms in messages[-args.last :]:
        print(f"{wib(sms.at_ns / 1e9)}  {sms.phone}  {sms.body}")
    if not messages:
        print("no messages")


def _open_store(args: argparse.Namespace) -> PortalStore:
    from portal.store import open_portal_store

    return open_portal_store(_store(home(args), args))


def cmd_portal_staff_add(args: argparse.Namespace) -> None:
    from portal.staff import StaffError, add_staff

    store = _open_store(args)
    try:
        member = add_staff(
            store, name=args.name, role=args.role, village=args.village, phone=args.phone
        )
    except StaffError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.close()
    print(
        f"added {member.id}: {member.name}, {member.role}, {member.village}, {member.phone}"
        f" (signs in at /petugas/masuk with the login id {member.id})"
    )


def cmd_portal_staff_list(args: argparse.Namespace) -> None:
    store = _open_store(args)
    try:
        members = store.staff()
    finally:
        store.close()
    for m in members:
        state = "" if m.active else "  (disabled)"
        print(f"{m.id}  {m.role:<14}  {m.village:<7}  {m.phone}  {m.name}{state}")
    if not members:
        print("no staff yet: add them with `jembatan portal staff add`")


def cmd_portal_cases_verify(args: argparse.Namespace) -> None:
    from portal.cases import HistoryBroken, verify_case
    from portal.keys import CASE_PUBLIC_FILE, SealBroken, load_case_public_key

    hub_home = home(args)
    public = (
        Path(args.public_key) if args.public_key else _state_dir(hub_home, args) / CASE_PUBLIC_FILE
    )
    try:
        key = load_case_public_key(public)
    except (OSError, ValueError, SealBroken) as exc:
        raise CliError(f"cannot read the case-history public key {public}: {exc}") from None
    store = _open_store(args)
    try:
        ids = [args.case] if args.case else [case.id for case in store.cases()]
        entries = 0
        for case_id in ids:
            try:
                entries += verify_case(store, key, case_id)
            except LookupError:
                raise CliError(f"no case {case_id}") from None
            except HistoryBroken as exc:
                from hub.cli import FAILED

                # A verification that fails exits 1, as `jembatan audit verify` does.
                print(f"jembatan: history broken: {exc}", file=sys.stderr)
                sys.exit(FAILED)
    finally:
        store.close()
    print(f"{len(ids)} case histories verified ({entries} entries): intact")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def _state_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--state",
        metavar="DIR",
        help="the portal's own directory: its keys and, by default, its store"
        " (default: HOME/portal)",
    )
    parent.add_argument(
        "--store",
        metavar="FILE_OR_DSN",
        help="the portal's store: a SQLite file or a postgresql:// DSN (default: STATE/portal.db;"
        f" ${STORE_ENV} if set)",
    )
    return parent


def add_portal_commands(commands: argparse._SubParsersAction) -> None:
    portal = add_command(
        commands,
        "portal",
        "run the citizens' Portal Perlinsos (the consent manager)",
        cmd_portal,
        parents=[hub_option(), _state_options()],
        description="Run the Portal Perlinsos: citizens sign in with their NIK and a code sent"
        " by (simulated) SMS, apply for their household, consent or refuse, and see the"
        " decision. It is the hub's consent manager (" + CONSENT_MANAGER_ID + ") and runs the"
        " eligibility service in-process under that service's own member; both reach the hub"
        " through its public gRPC API. Ctrl-C stops it.",
    )
    portal.add_argument(
        "--listen",
        type=listen_address,
        default="127.0.0.1:8090",
        metavar="HOST:PORT",
        help="where to serve the portal; port 0: any free port",
    )
    portal.add_argument(
        "--eligibility",
        default=ELIGIBILITY,
        metavar="MEMBER_ID",
        help="the eligibility service's member (its key and certificate under the home)",
    )
    portal.add_argument(
        "--seed", type=int, default=2026, help="the simulated civil registry's population seed"
    )
    portal.add_argument(
        "--scale", type=float, default=1.0, help="the simulated civil registry's population scale"
    )
    portal.add_argument(
        "--criteria",
        metavar="FILE",
        help="the eligibility criteria (default: the shipped examples/eligibility/criteria.yaml)",
    )
    portal.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark cookies Secure (when the portal is served over HTTPS by a proxy)",
    )
    portal.add_argument(
        "--code-ttl", type=_positive, default=300, metavar="SECONDS", help="how long a code lives"
    )
    portal.add_argument(
        "--session-ttl",
        type=_positive,
        default=900,
        metavar="SECONDS",
        help="how long a session lives after its last use",
    )
    portal.add_argument(
        "--answer-within",
        type=int,
        default=0,
        metavar="SECONDS",
        help="how long a citizen has to answer a consent request before it is asked afresh;"
        " 0: the hub's limit (a day)",
    )
    portal.add_argument(
        "--watch-every",
        type=int,
        default=900,
        metavar="SECONDS",
        help="how often the portal asks the hub who accessed its citizens' data, to tell them"
        " by inbox and SMS (up to 200 citizens a round, those asked about longest ago first);"
        " 0: only when a citizen opens their page",
    )
    portal.add_argument(
        "--max-attempts", type=_positive, default=5, help="wrong codes before a code is spent"
    )
    portal.add_argument(
        "--max-codes", type=_positive, default=3, help="codes per NIK within 15 minutes"
    )
    actions = add_actions(
        portal, "portal_command", required=False, help_text="an action instead of running it:"
    )
    outbox = add_command(
        actions,
        "outbox",
        "the simulated SMS gateway's messages",
        cmd_portal_outbox,
        parents=[_state_options()],
        description="Print the messages the portal's simulated SMS gateway has sent (never a"
        " real SMS), oldest first.",
    )
    outbox.add_argument("--phone", help="only messages to this number")
    outbox.add_argument("--last", type=_positive, default=20, help="at most this many, the latest")

    staff = add_command(
        actions,
        "staff",
        "the staff accounts: PKH companions, village staff, social-service officers",
        description="Provision and list the portal's staff accounts. Each is bound to a"
        " village, signs in at /petugas/masuk with the login id printed here and a code sent"
        " by (simulated) SMS to the phone given here.",
    )
    staff_actions = add_actions(staff, "staff_command")
    add = add_command(
        staff_actions,
        "add",
        "add a staff account and print its login id",
        cmd_portal_staff_add,
        parents=[_state_options()],
    )
    add.add_argument("--name", required=True, help="the staff member's full name")
    add.add_argument(
        "--role",
        required=True,
        choices=("pendamping", "perangkat_desa", "dinsos"),
        help="pendamping (PKH companion), perangkat_desa (village staff) or dinsos"
        " (social-service officer, who sees the queues and takes no task)",
    )
    add.add_argument(
        "--village",
        required=True,
        choices=("kemiren", "lateng", "all"),
        help="the village whose cases they see; all: both (dinsos only)",
    )
    add.add_argument(
        "--phone", required=True, help="their mobile number (08…), where their codes go"
    )
    add_command(
        staff_actions,
        "list",
        "list the staff accounts",
        cmd_portal_staff_list,
        parents=[_state_options()],
    )

    cases = add_command(
        actions,
        "cases",
        "the cases (ground checks) and their tamper-evident histories",
        description="The portal's cases: every step of each is an entry of a hash-chained"
        ' history whose head the portal signs (docs/portal.md, "Cases").',
    )
    case_actions = add_actions(cases, "cases_command")
    verify = add_command(
        case_actions,
        "verify",
        "verify every case's history (or one) against its signed head",
        cmd_portal_cases_verify,
        parents=[_state_options()],
        description="Recompute every case's hash chain from the store and check it against"
        " the signed head with the case-history public key. Exit 0 when every history is"
        " intact; 1 with one line naming the case and the first bad entry otherwise.",
    )
    verify.add_argument("--case", metavar="CASE_ID", help="only this case (default: all of them)")
    verify.add_argument(
        "--public-key",
        metavar="FILE",
        help="the case-history public key, PEM (default: STATE/portal-cases.pub)",
    )
