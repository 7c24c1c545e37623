"""The subject of a query: a NIK, the 16-digit Indonesian population identity number.

Also the one test every text the hub keeps verbatim (audit log, registry) must pass: it
must not be able to carry a NIK, however the NIK is written out.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TypeGuard

NIK_DIGITS = 16
# [0-9], not \d: \d also matches non-ASCII digits, which are no NIK.
_NIK = re.compile(rf"[0-9]{{{NIK_DIGITS}}}")
# For free text the opposite holds: any decimal digit of any script counts (after NFKC
# folds full-width, circled, superscript and mathematical digits to ASCII, the rest of
# Unicode's Nd digits are still digits to a reader), so \d is meant here.
_DIGIT = re.compile(r"\d")
_DIGIT_RUN = re.compile(rf"\d{{{NIK_DIGITS},}}")
# What people (or an evasive client) put between the groups of a NIK: spaces, dashes,
# dots, slashes, colons, underscores — and invisible characters NFKC keeps (zero-width
# space, combining marks). Anything that is neither a letter nor a digit, between digits.
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\W_]+(?=\d)")


def is_nik(text: object) -> TypeGuard[str]:
    return isinstance(text, str) and _NIK.fullmatch(text) is not None


def may_hold_nik(text: str) -> bool:
    """True if ``text`` holds 16 or more digits in a row once normalised (NFKC) and with
    whatever is neither letter nor digit between digits dropped: "3510-0101-0101-0001",
    "3510 0101 0101 0001" and full-width digits (U+FF10..U+FF19) all count. Deliberately broad: a
    refused text can be rephrased, a NIK in the append-only log cannot be taken back."""
    normal = unicodedata.normalize("NFKC", text)
    # Most texts have few digits: skip the rewriting for them.
    if len(_DIGIT.findall(normal)) < NIK_DIGITS:
        return False
    return _DIGIT_RUN.search(_BETWEEN_DIGITS.sub("", normal)) is not None


def is_printable(text: str) -> bool:
    """True if ``text`` holds no control, format or line-breaking character (a newline, ESC,
    a zero-width or bidi override character): text kept verbatim is shown to officers and
    written to terminals and logs, where such characters forge lines or hide content."""
    return text.isprintable()


def free_text_problem(text: str, limit: int) -> str | None:
    """Why free text (an administrator's reason, an officer's note) may not be kept
    verbatim; None if it may: 1..``limit`` characters, printable, and unable to hold a NIK.
    The answer names the rule, never the text."""
    if not 0 < len(text) <= limit or not is_printable(text) or may_hold_nik(text):
        return f"must be 1..{limit} printable characters and hold no NIK"
    return None
