"""``jembatan serve``: run the hub."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.common import (
    DATABASE_HELP,
    DEFAULT_HUB,
    CliError,
    add_command,
    add_tracing_option,
    check_free,
    home,
    listen_address,
    run_async,
    start_tracing,
    text_arg,
    until_signalled,
)
from hub.logs import FORMATS

if TYPE_CHECKING:
    from hub.server import HubSettings
    from hub.witness.collector import WitnessEndpoint


def _seconds(text: str) -> int:
    """A whole number of seconds, 0 or more."""
    try:
        seconds = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}") from None
    if seconds < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {seconds}")
    return seconds


def serve_settings(args: argparse.Namespace) -> HubSettings:
    from hub.admission import AdmissionLimits
    from hub.server import HubSettings

    hub_home = home(args)
    running = args.running or (_RUNNING_POSTGRESQL if hub_home.database_url else _RUNNING_SQLITE)
    return HubSettings(
        home=hub_home,
        listen=args.listen,
        policies_dir=Path(args.policies) if args.policies else None,
        max_age_s=args.max_age,
        clock_skew_s=args.clock_skew,
        connector_deadline_s=args.connector_deadline,
        policy_poll_s=args.policy_poll or None,
        metrics_listen=args.metrics_listen,
        admission=AdmissionLimits(
            member_calls=args.member_calls,
            member_waiting=args.member_waiting,
            member_streams=args.member_streams,
            running=running,
            agency_running=args.agency_running,
            refusal_window_s=args.rate_limit_window,
        ),
        witnesses=tuple(_witness(text) for text in args.witness),
        witness_timeout_s=args.witness_timeout,
        witness_stale_after_s=args.witness_stale_after,
    )


def cmd_serve(args: argparse.Namespace) -> None:
    from hub.logs import NativeStderr

    # First, so that every line gRPC core writes comes out in the log's format.
    native = NativeStderr()
    native.capture()
    from hub.server import Hub

    settings = serve_settings(args)
    check_free(settings.listen)
    start_tracing(args, "jembatan-hub")

    async def run() -> None:
        hub = Hub(settings)
        native.on_tls_refusal = hub.metrics.tls_handshake_refused
        await hub.start()
        # What the hub has built so far lives as long as it does: out of the collector's
        # sight, a full collection no longer walks it (its pauses went from 30-55 ms to ~10).
        gc.freeze()
        host = settings.listen.rsplit(":", 1)[0]
        metrics = f"; metrics on {hub.metrics_address}" if hub.metrics_address else ""
        print(
            f"jembatan hub listening on {host}:{hub.port} (policy {hub.policies.version}{metrics})"
        )
        await until_signalled()
        await hub.stop()

    run_async(run())


def _witness(text: str) -> WitnessEndpoint:
    """``--witness URL=KEY``, KEY inline or ``@FILE``: read when the hub starts, not when the
    command line is parsed (the file may be written by a witness started alongside)."""
    from hub.witness.collector import parse_witness

    url, separator, key = text.partition("=")
    if separator and key.startswith("@"):
        text = f"{url}={text_arg(key, '--witness')}"
    try:
        return parse_witness(text)
    except ValueError as exc:
        raise CliError(f"--witness: {exc}") from None


# Exchanges at work at once (--running). On SQLite an exchange's turn is all work in the
# process: 2 keep it busy. On PostgreSQL part of it is spent waiting on the server (the
# registry's generation, the nonce claim, the consent read, the record's batch), and with 2
# places the process idles while both wait: 2 more than the store's 8 sessions for queries
# (hub.store.postgres) keep it busy without queueing on them (docs/storage.md).
_RUNNING_SQLITE, _RUNNING_POSTGRESQL = 2, 10


def _at_least(minimum: int) -> Callable[[str], int]:
    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= {minimum}")
        return value

    return count


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def add_serve_command(commands: argparse._SubParsersAction) -> None:
    serve = add_command(
        commands,
        "serve",
        "run the hub",
        cmd_serve,
        description="Run the hub: its gRPC API on --listen, with the CA, keys and registry of"
        " the hub home (SIGINT or SIGTERM stops it; SIGHUP reloads the policies).",
    )
    serve.add_argument(
        "--listen",
        type=listen_address,
        default=DEFAULT_HUB,
        metavar="HOST:PORT",
        help="where to serve; port 0: any free port",
    )
    # Also accepted here, after the command: `jembatan serve --database DSN`.
    serve.add_argument("--database", default=argparse.SUPPRESS, metavar="DSN", help=DATABASE_HELP)
    serve.add_argument(
        "--policies", metavar="DIR", help="policy directory (default: the shipped policies)"
    )
    serve.add_argument(
        "--max-age",
        type=int,
        default=60,
        metavar="SECONDS",
        help="freshness window: the longest a signed request, approval or agency answer"
        " may be valid (exp - iat)",
    )
    serve.add_argument(
        "--clock-skew",
        type=_seconds,
        default=30,
        metavar="SECONDS",
        help="how far a client's or connector's clock may be ahead of the hub's or behind it",
    )
    serve.add_argument(
        "--connector-deadline",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how long the hub waits for an agency's connector to answer",
    )
    serve.add_argument(
        "--policy-poll",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="seconds between checks of the policy files for changes; 0: reload on SIGHUP only",
    )
    serve.add_argument(
        "--metrics-listen",
        type=listen_address,
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (default: off; port 0: any)",
    )
    # Admission control (hub.admission, docs/security.md "Fairness under load").
    serve.add_argument(
        "--member-calls",
        type=_at_least(1),
        default=64,
        metavar="N",
        help="Query and FanOut calls one member may have in the hub at once; more wait for"
        " one of those places",
    )
    serve.add_argument(
        "--member-waiting",
        type=_at_least(0),
        default=256,
        metavar="N",
        help="calls of one member that may wait for a place; more are refused"
        " RESOURCE_EXHAUSTED RATE_LIMITED",
    )
    serve.add_argument(
        "--member-streams",
        type=_at_least(1),
        default=8,
        metavar="N",
        help="Bulk and audit streams one member may hold open; more are refused RATE_LIMITED",
    )
    serve.add_argument(
        "--running",
        type=_at_least(1),
        default=None,
        metavar="N",
        help="exchanges at work on the hub at once; the next place goes to the members with"
        f" an exchange waiting in turn (a member with none at work starts at once)"
        f" (default: {_RUNNING_SQLITE} on SQLite, {_RUNNING_POSTGRESQL} on PostgreSQL, where"
        " part of an exchange's turn is a wait on the server)",
    )
    serve.add_argument(
        "--agency-running",
        type=_at_least(1),
        default=4,
        metavar="N",
        help="exchanges waiting on one agency at once, to begin with; the limit then follows"
        " how fast the agency answers",
    )
    serve.add_argument(
        "--rate-limit-window",
        type=_positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="of a member's admission refusals of one kind, the first in each window is"
        " recorded in full and the rest in one summary record with their count",
    )
    # Witnesses (hub.witness.collector, docs/operations.md "Witnesses").
    serve.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="URL=KEY",
        help="a witness to ask for a cosignature of each checkpoint: its URL and its key"
        " string (`jembatan witness init` prints it; @FILE reads the key from a file);"
        " repeat for each witness (default: none)",
    )
    serve.add_argument(
        "--witness-timeout",
        type=_positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how long one request to a witness may take; the log never waits for it",
    )
    serve.add_argument(
        "--witness-stale-after",
        type=_positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="a witness is reported stale when a checkpoint has waited this long for its"
        " cosignature",
    )
    serve.add_argument(
        "--log-format",
        choices=FORMATS,
        default="text",
        help="text: log lines for people (INFO with -v); json: one JSON object per line, at"
        " INFO, with one line per exchange",
    )
    add_tracing_option(serve)
