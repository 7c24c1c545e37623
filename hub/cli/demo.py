"""``jembatan demo``: the whole path on loopback, shown step by step."""

from __future__ import annotations

import argparse
import sys

from hub.cli.common import add_command, run_async


def cmd_demo(args: argparse.Namespace) -> None:
    from hub.dev.demo import run_demo

    sys.exit(run_async(run_demo(keep=args.keep, scale=args.scale)))


def add_demo_command(commands: argparse._SubParsersAction) -> None:
    demo = add_command(
        commands,
        "demo",
        "run the whole path on loopback and show it",
        cmd_demo,
        description="Run the whole path on loopback and show it: a throw-away PKI, the seven"
        " simulated agencies and the hub as separate processes, queries through the secure"
        " path, then the eligibility service over the villages.",
        home_note=False,
    )
    demo.add_argument("--keep", action="store_true", help="keep the demo's home directory")
    demo.add_argument(
        "--scale", type=float, default=1.0, help="population scale (1: the two villages)"
    )
