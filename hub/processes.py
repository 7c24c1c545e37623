"""Start the hub's pieces as real processes and wait until they listen.

The demo, the tests and the benchmarks run ``jembatan serve`` and ``jembatan sim`` as
separate processes on loopback, exactly as an operator would.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

_READY = re.compile(r"listening on (\S+:\d+)")


class ProcessFailed(RuntimeError):
    pass


@dataclass
class RunningProcess:
    name: str
    process: asyncio.subprocess.Process
    address: str

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


async def start_jembatan(
    name: str, args: Sequence[str], *, timeout_s: float = 30.0, env: dict[str, str] | None = None
) -> RunningProcess:
    """Run ``jembatan ARGS`` and wait for its ``listening on HOST:PORT`` line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=None,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    assert process.stdout is not None
    try:
        address = await asyncio.wait_for(_ready_address(process.stdout), timeout_s)
    except (TimeoutError, ProcessFailed) as exc:
        process.kill()
        await process.wait()
        raise ProcessFailed(f"{name} did not start: {exc}") from exc
    # Keep draining stdout so the child never blocks on a full pipe.
    asyncio.get_running_loop().create_task(_drain(process.stdout))
    return RunningProcess(name, process, address)


async def _ready_address(stream: asyncio.StreamReader) -> str:
    while True:
        line = await stream.readline()
        if not line:
            raise ProcessFailed("exited before listening")
        match = _READY.search(line.decode(errors="replace"))
        if match:
            return match.group(1)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass
