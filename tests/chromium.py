"""Where the browser tests' browser and accessibility checker are: Debian's Chromium (DESIGN.md,
"Browser tests": Playwright's own download does not work here) with the flags a closed,
headless machine needs, and axe-core from tests/node's npm modules."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these, Chromium reaches out to Google at start and is refused, many at a time.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).resolve().parent / "node" / "node_modules" / "axe-core" / "axe.min.js"
