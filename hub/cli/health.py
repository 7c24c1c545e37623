"""``jembatan health``: ask a hub's standard gRPC health service (``grpc.health.v1``) whether
it serves — the probe for container health checks and for an operator at a shell.

It goes through the hub's mTLS port like any call, so it needs a certificate the hub's CA
issued: by default the hub's own (``HOME/hub/``), which is at hand wherever the hub runs,
or a member's (``--member``). Output is the status alone, one word, and the exit status
says it too: 0 SERVING, 1 anything else, 3 the hub could not be reached.
"""

from __future__ import annotations

import argparse
import sys

from hub.cli.common import (
    CliError,
    add_command,
    home,
    member_connection,
    member_credentials,
    read,
    run_async,
)


def cmd_health(args: argparse.Namespace) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from jembatan.client import HubUnreachable

    if args.timeout <= 0:
        raise CliError(f"--timeout must be above zero, not {args.timeout:g}")
    hub_home = home(args)
    if args.member or args.member_dir:
        key_pem, cert_pem = member_credentials(hub_home, args.member, args.member_dir)
    else:
        key_pem = read(str(hub_home.hub_key), "the hub's key")
        cert_pem = read(str(hub_home.hub_cert), "the hub's certificate")
    ca_pem = read(args.ca or str(hub_home.ca_cert), "the hub CA certificate")

    async def check() -> str:
        credentials = grpc.ssl_channel_credentials(ca_pem, key_pem, cert_pem)
        async with grpc.aio.secure_channel(args.hub, credentials) as channel:
            try:
                answer = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    problem = f"the hub at {args.hub} serves no service {args.service!r}"
                    raise CliError(problem) from None
                raise HubUnreachable(
                    args.hub, exc.code(), exc.details() or exc.code().name
                ) from exc
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status))

    status = run_async(check())
    print(status)
    if status != "SERVING":
        sys.exit(1)


def add_health_command(commands: argparse._SubParsersAction) -> None:
    health = add_command(
        commands,
        "health",
        "ask a hub whether it serves (grpc.health.v1), for container health checks",
        cmd_health,
        parents=[
            member_connection(
                "",
                member_help="call as this member (its key.pem and cert.pem under the home)"
                " instead of as the hub itself, with HOME/hub/key.pem and cert.pem",
                ca=True,
            )
        ],
    )
    health.add_argument(
        "--service",
        default="",
        metavar="NAME",
        help='the service to ask about, e.g. jembatan.v1.Exchange ("": the hub as a whole)',
    )
    health.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="how long to wait for the answer before calling the hub unreachable",
    )
