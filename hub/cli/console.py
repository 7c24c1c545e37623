"""``jembatan console``: the security officers' web console, and its logins."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.common import (
    CONSOLE_MEMBER,
    CliError,
    add_actions,
    add_command,
    home,
    listen_address,
    member_connection,
    read,
    run_async,
    text_arg,
    until_signalled,
)
from hub.cli.serve import _positive_seconds as positive_seconds

if TYPE_CHECKING:
    from hub.console.witnesses import Witnesses


def cmd_console(args: argparse.Namespace) -> None:
    from hub.console.app import start, tls_context
    from jembatan.insights.thresholds import load_thresholds

    hub_home = home(args)
    # Read now, before anything connects: a bad file is a one-line error, not a page later.
    thresholds = load_thresholds(
        Path(args.thresholds) if args.thresholds else hub_home.anomaly_thresholds
    )
    witnesses = _witnesses(args, hub_home.log_verifier_key)
    member_dir = Path(args.member_dir) if args.member_dir else hub_home.member_dir(args.member)

    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    tls = tls_context(Path(args.tls_cert), Path(args.tls_key)) if args.tls_cert else None

    async def run() -> None:
        console = await start(
            hub_home,
            args.listen,
            args.hub,
            member_dir,
            tls=tls,
            trusted_proxies=args.trusted_proxy,
            thresholds=thresholds,
            witnesses=witnesses,
            refresh_s=args.refresh,
        )
        scheme = "https" if tls else "http"
        print(f"jembatan console listening on {console.address} ({scheme}, hub {args.hub})")
        await until_signalled()
        await console.stop()

    run_async(run())


def _witnesses(args: argparse.Namespace, verifier_key: Path) -> Witnesses | None:
    """The ``--witness`` keys (inline or @FILE) and the ``--quorum`` of them required."""
    from hub.console.witnesses import Witnesses
    from jembatan.audit.checkpoint import CheckpointError
    from jembatan.audit.witness import parse_cosigner_key

    if not args.witness:
        if args.quorum:
            raise CliError("--quorum needs the witnesses' keys (--witness KEY, repeated)")
        return None
    try:
        cosigners = [parse_cosigner_key(text_arg(w, "--witness")) for w in args.witness]
    except CheckpointError as exc:
        raise CliError(f"--witness: {exc}") from None
    verifier = read(str(verifier_key), "the hub's verifier key").decode().strip()
    return Witnesses(
        verifier, cosigners, quorum=args.quorum, stale_after_s=args.witness_stale_after
    )


def cmd_console_add_officer(args: argparse.Namespace) -> None:
    from hub.console.officers import add_officer, officers_file

    # From a file, never the command line: arguments show in `ps` and shell history.
    hub_home = home(args)
    password = read(args.password_file, "--password-file").decode().rstrip("\r\n")
    new = add_officer(hub_home, args.name, password)
    done = "added" if new else "password replaced"
    print(f"officer {args.name} {done} in {officers_file(hub_home)}")


def add_console_commands(commands: argparse._SubParsersAction) -> None:
    console = add_command(
        commands,
        "console",
        "run the security officers' web console",
        cmd_console,
        parents=[
            member_connection(
                CONSOLE_MEMBER,
                member_help="the console's member id (needs the auditor and console roles)",
            )
        ],
        description="Run the security officers' web console: the audit log, read from the hub"
        " as the console's member, for officers who log in (add them with `console"
        " add-officer`). Ctrl-C stops it.",
    )
    console.add_argument(
        "--listen",
        type=listen_address,
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="where to serve the console; port 0: any free port",
    )
    console.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="serve HTTPS with this certificate (PEM, with its chain); with --tls-key"
        " (default: plain HTTP, for localhost or behind a --trusted-proxy)",
    )
    console.add_argument("--tls-key", metavar="FILE", help="the --tls-cert's private key (PEM)")
    console.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="the IP address of a TLS-terminating proxy in front of the console: only from it"
        " are Forwarded / X-Forwarded-Proto, -Host and -For believed (repeatable; default: none)",
    )
    console.add_argument(
        "--thresholds",
        metavar="FILE",
        help="the anomaly flags' thresholds, a YAML file changing any of the shipped ones"
        " (default: HOME/anomalies.yaml if present, else jembatan/insights/anomalies.yaml);"
        " read at start: a bad file stops the console with a one-line error",
    )
    console.add_argument(
        "--refresh",
        type=positive_seconds,
        default=15.0,
        metavar="SECONDS",
        help="how long the dashboard reuses one look at the log before reading what was"
        " appended since",
    )
    console.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="KEY",
        help="a witness whose cosignatures the console checks and shows: its key string"
        " (`jembatan witness init` prints it; it names the witness) or @FILE; repeat for"
        " each (default: none)",
    )
    console.add_argument(
        "--quorum",
        type=int,
        metavar="K",
        help="how many of the --witness witnesses must have cosigned the latest checkpoint"
        " for the integrity page to call the log verified (default: none required)",
    )
    console.add_argument(
        "--witness-stale-after",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="a witness is shown stale when a newer checkpoint has waited this long for its"
        " cosignature",
    )
    actions = add_actions(
        console,
        "console_command",
        required=False,
        help_text="an action instead of running the console:",
    )
    officer = add_command(
        actions,
        "add-officer",
        "add or re-key a console login",
        cmd_console_add_officer,
        description="Add a console login, or replace its password (stored hashed in the hub home).",
    )
    officer.add_argument("name", help="the officer's login name")
    officer.add_argument(
        "--password-file",
        required=True,
        metavar="FILE",
        help="file holding the password (never on the command line: `ps` and shell history"
        " would show it)",
    )
