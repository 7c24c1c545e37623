"""A citizen's phone for the portal's browser tests: Debian's Chromium at 390x844, every
URL it visits kept, axe-core run on each page, screenshots written for people to look at."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests.chromium import AXE, CHROMIUM, CHROMIUM_ARGS

# Written where git does not look, so a test run changes no committed file; the pictures in
# docs/portal/ are refreshed on purpose with PORTAL_SCREENSHOTS=docs/portal.
SCREENSHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS", Path(__file__).parent / "screenshots"))


@dataclass
class Phone:
    page: Page
    visited: list[str] = field(default_factory=list)

    def check(self, name: str | None = None) -> None:
        """axe-core on the page as it stands: no serious or critical violation; and, if
        named, a full-page screenshot ``NAME.png`` in ``SCREENSHOTS``."""
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate("async () => JSON.stringify(await axe.run(document))")
        violations = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
            for v in json.loads(result)["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert violations == [], f"{self.page.url}: {violations}"
        if name:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@contextmanager
def phone(width: int = 390, height: int = 844) -> Iterator[Phone]:
    # Failing, not skipping: the test set-up installs chromium (Makefile) and axe-core (npm).
    assert CHROMIUM.exists(), f"{CHROMIUM} missing: apt-get install chromium"
    assert AXE.exists(), f"{AXE} missing: (cd tests/node && npm ci)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # bypass_csp: the portal allows no script at all, and axe-core is one.
            context = browser.new_context(
                viewport={"width": width, "height": height}, bypass_csp=True, locale="id-ID"
            )
            page = context.new_page()
            device = Phone(page)
            page.on("request", lambda request: device.visited.append(request.url))
            yield device
        finally:
            browser.close()
