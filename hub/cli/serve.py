"""``jembatan serve``: run the hub."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from hub.cli.common import (
    DATABASE_HELP,
    DEFAULT_HUB,
    add_command,
    check_free,
    home,
    listen_address,
    run_async,
    until_signalled,
)
from hub.logs import FORMATS

if TYPE_CHECKING:
    from hub.server import HubSettings


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
    from hub.server import HubSettings

    return HubSettings(
        home=home(args),
        listen=args.listen,
        policies_dir=Path(args.policies) if args.policies else None,
        max_age_s=args.max_age,
        clock_skew_s=args.clock_skew,
        connector_deadline_s=args.connector_deadline,
        policy_poll_s=args.policy_poll or None,
        metrics_listen=args.metrics_listen,
    )


def cmd_serve(args: argparse.Namespace) -> None:
    from hub.logs import NativeStderr

    # First, so that every line gRPC core writes comes out in the log's format.
    native = NativeStderr()
    native.capture()
    from hub.server import Hub

    settings = serve_settings(args)
    check_free(settings.listen)

    async def run() -> None:
        hub = Hub(settings)
        native.on_tls_refusal = hub.metrics.tls_handshake_refused
        await hub.start()
        host = settings.listen.rsplit(":", 1)[0]
        metrics = f"; metrics on {hub.metrics_address}" if hub.metrics_address else ""
        print(
            f"jembatan hub listening on {host}:{hub.port} (policy {hub.policies.version}{metrics})"
        )
        await until_signalled()
        await hub.stop()

    run_async(run())


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
    serve.add_argument(
        "--log-format",
        choices=FORMATS,
        default="text",
        help="text: log lines for people (INFO with -v); json: one JSON object per line, at"
        " INFO, with one line per exchange",
    )
