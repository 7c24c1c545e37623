"""``jembatan``: run and administer the hub, its simulated agencies and queries.

Every command answers ``--help``; every error is one readable line and a non-zero exit
(1: the hub refused, told with what to do about it, or a verification failed; 2: a usage
error, nothing done; 3: the hub could not be reached; 130: interrupted).

One module per command group, each with its ``cmd_*`` functions and an ``add_*`` function
that adds its parser: ``pki``, ``consent``, ``audit``, ``policy``, ``admin``, ``member``,
``serve``, ``health``, ``sim``, ``samples``, ``query``, ``console``, ``portal``, ``demo``,
``witness``; ``common`` holds what they share (defaults, the help formatter, the parent
parsers of the hub-connection options, helpers).
Building the parser imports nothing heavy: each command imports what it needs when it runs,
so ``jembatan --help`` answers at once.

The parser is the standard library's ``argparse``, on purpose: the hub's image installs no
CLI framework; the CLI's commands, options, messages and exit codes stay as scripts, the
compose file and the README already use them; ``build_parser()`` is a plain object tests
parse command lines with; and what a framework would add here (parent parsers for shared
options, defaults shown in help, nested subcommands) argparse already has.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from hub.cli.admin import add_admin_commands
from hub.cli.audit import add_audit_commands
from hub.cli.common import DATABASE_HELP, CliError, HelpFormatter
from hub.cli.consent import add_consent_commands
from hub.cli.console import add_console_commands
from hub.cli.demo import add_demo_command
from hub.cli.health import add_health_command
from hub.cli.member import add_member_commands
from hub.cli.pki import add_pki_commands
from hub.cli.policy import add_policy_commands
from hub.cli.portal import add_portal_commands
from hub.cli.query import add_query_command
from hub.cli.samples import add_samples_command
from hub.cli.serve import add_serve_command
from hub.cli.sim import add_sim_command
from hub.cli.witness import add_witness_commands

__all__ = ["CliError", "build_parser", "main"]

# The exit statuses, as the epilog tells them (argparse's own errors exit USAGE too).
FAILED = 1  # the hub refused, or a check or verification failed
USAGE = 2  # what was asked cannot be done: a mistake in the command, a file, the home
UNREACHABLE = 3  # the hub could not be reached or did not answer: try again later
INTERRUPTED = 130

EPILOG = """\
A hub on one machine (the README's "Running the pieces separately"):
  jembatan pki init                  # the hub home: CA, hub certificate, keys
  jembatan pki enrol --member ID/GOV/KEMENSOS/eligibility
  jembatan sim --register --listen 127.0.0.1:7501 &   # enrol the agencies first
  jembatan serve &
  jembatan consent grant --subject NIK --service SVC --fields F,G --out c.jws
  jembatan query --subject NIK --service SVC --fields F,G --consent @c.jws

Each command and action has its own help: `jembatan COMMAND [ACTION] --help`.

Exit status: 0 done; 1 the hub refused (the reason and what to do are printed) or a
check failed or found something (audit verify, audit check, audit anomalies, witness
check, policy lint, test, explain; demo); 2 a usage error: the command, an option, a file
or the hub home is wrong (nothing was done); 3 the hub could not be reached (try again
later); 130 interrupted."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jembatan",
        description="Secure data-exchange hub for social protection.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--home",
        default=os.environ.get("JEMBATAN_HOME", "jembatan-home"),
        metavar="DIR",
        help="hub home directory: the CA, keys, member certificates and registry"
        " ($JEMBATAN_HOME when set)",
    )
    # --- storage engine (PostgreSQL replicas) ---
    # Its default, $JEMBATAN_DATABASE, is read when a command runs (common.database): a
    # default here would print a DSN, password and all, in `jembatan --help`.
    parser.add_argument("--database", metavar="DSN", help=DATABASE_HELP)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log at INFO level (not just warnings and errors)",
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", title="commands", help="one of:"
    )
    add_pki_commands(commands)
    add_consent_commands(commands)
    add_audit_commands(commands)
    add_policy_commands(commands)
    add_admin_commands(commands)
    add_member_commands(commands)
    add_serve_command(commands)
    add_health_command(commands)
    add_sim_command(commands)
    add_samples_command(commands)
    add_query_command(commands)
    add_console_commands(commands)
    add_portal_commands(commands)
    add_demo_command(commands)
    add_witness_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    from hub.logs import configure as configure_logs

    args = build_parser().parse_args(argv)
    log_format = getattr(args, "log_format", "text")
    # Asking for JSON is asking for the exchange lines a log shipper collects: INFO.
    verbose = args.verbose or log_format == "json"
    configure_logs(log_format, logging.INFO if verbose else logging.WARNING)
    try:
        args.func(args)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    except Exception as exc:
        from jembatan.audit.verify import VerificationFailed
        from jembatan.client import HubUnreachable, QueryRefused
        from jembatan.errors import ADVICE, JembatanError

        if isinstance(exc, QueryRefused):
            print(f"jembatan: refused: {exc} ({ADVICE[exc.category]})", file=sys.stderr)
            sys.exit(FAILED)
        if isinstance(exc, VerificationFailed):
            print(f"jembatan: {exc}", file=sys.stderr)
            sys.exit(FAILED)
        # "Cannot reach the hub at …" is never a refusal, nor a mistake in the command.
        if isinstance(exc, HubUnreachable):
            print(f"jembatan: {exc}", file=sys.stderr)
            sys.exit(UNREACHABLE)
        if isinstance(exc, (JembatanError, OSError, ValueError)):
            print(f"jembatan: {exc}", file=sys.stderr)
            sys.exit(USAGE)
        raise
