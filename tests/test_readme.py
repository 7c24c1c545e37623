"""The README is the front door: short, every link in it and in docs/ leads somewhere, and
its quick start runs as printed against a real hub, so it cannot rot.

The quick start is the fenced ``python`` block right after the ``<!-- quickstart`` comment
in README.md. It is run unchanged, as a reader runs it — ``python`` with the block as its
program — with the set-up the README names: ``JEMBATAN_HOME`` (the hub's home: CA, keys,
members' certificates) and ``JEMBATAN_HUB`` (its address), here those of the tests' stack.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

from tests.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 250
QUICKSTART_MARK = "<!-- quickstart"

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
# [text](target) and [text](<target>), optionally with a "title"; reference definitions.
_INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def quickstart() -> str:
    """The fenced python block that follows the quick-start mark."""
    text = README.read_text(encoding="utf-8")
    assert text.count(QUICKSTART_MARK) == 1, "README.md marks exactly one quick start"
    after = text.split(QUICKSTART_MARK, 1)[1].split("-->", 1)[1]
    match = re.match(r"\s*```python\n(.*?)^```[ \t]*$", after, re.S | re.M)
    assert match, "the quick-start mark is followed by a ```python block"
    return match.group(1)


def _prose(text: str) -> str:
    """Markdown without its code: links are only links outside code."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: code marks and punctuation dropped, lower case,
    spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    headings = _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8")))
    anchors: set[str] = set()
    for heading in headings:
        anchor, n = _anchor(heading), 1
        while anchor in anchors:  # repeated headings get -1, -2, …
            anchor, n = f"{_anchor(heading)}-{n}", n + 1
        anchors.add(anchor)
    return anchors


def test_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines"
    assert DOCS, "the long text lives in docs/"


def test_nothing_points_outside_the_repository() -> None:
    # ../shared/ (the design notes beside the working copy) is not in a clone: what a
    # reader needs from it is in docs/.
    for doc in [README, *DOCS]:
        assert "../shared" not in doc.read_text(encoding="utf-8"), doc.name


def test_relative_links_lead_to_files_and_headings_that_exist() -> None:
    broken = []
    checked = 0
    for doc in [README, *DOCS]:
        prose = _prose(doc.read_text(encoding="utf-8"))
        for target in _INLINE_LINK.findall(prose) + _REFERENCE.findall(prose):
            if _SCHEME.match(target):
                continue  # https:, mailto: — not a file of ours
            checked += 1
            path, _, fragment = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            where = f"{doc.relative_to(ROOT)}: {target}"
            if not file.exists():
                broken.append(f"{where} (no such file)")
            elif not file.resolve().is_relative_to(ROOT):
                broken.append(f"{where} (outside the repository)")
            elif fragment and file.suffix == ".md" and fragment not in _anchors(file):
                broken.append(f"{where} (no such heading)")
    assert checked, "no relative links found: is the pattern still right?"
    assert not broken, "\n".join(broken)


def test_the_quick_start_runs_as_printed(stack: Stack, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "JEMBATAN_HOME": str(stack.home.root),
        "JEMBATAN_HUB": stack.address,
    }
    code = quickstart()
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # A sample citizen of the tests' population too (a smaller slice of the same villages),
    # so the agency holds a record and the policy's treatments show.
    assert stack.people.employed in code
    lines = done.stdout.splitlines()
    assert lines[0] == "employment_status: 'active' (raw)", done.stdout
    assert lines[1] == "monthly_wage: True (predicate < 3000000)", done.stdout
    assert re.fullmatch(r"recorded at index \d+, in the checkpoint of \d+", lines[2]), lines
