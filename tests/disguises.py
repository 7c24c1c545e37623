"""Ways a NIK slips past a check for sixteen ASCII digits in a row, and control characters
that forge lines in what officers read: the tests send each to every entry point that keeps
text verbatim."""

from __future__ import annotations

# Full-width digits U+FF10..U+FF19, built rather than written (they look like ASCII).
_FULL_WIDTH = {ord("0") + d: 0xFF10 + d for d in range(10)}

NIK_DISGUISES = ("dashed", "spaced", "dotted", "slashed", "full-width", "zero-width")
CONTROL_TEXTS = {
    "newline": "disetujui\nRELEASED oleh ID/GOV/BSSN/auditor",
    "escape": "disetujui \x1b[2K\x1b[1A ditolak",
}


def disguised(nik: str, how: str) -> str:
    """``nik`` written out ``how`` (one of ``NIK_DISGUISES``)."""
    groups = [nik[i : i + 4] for i in range(0, len(nik), 4)]
    joined = {"dashed": "-", "spaced": " ", "dotted": ".", "slashed": "/", "zero-width": "\u200b"}
    if how == "full-width":
        return nik.translate(_FULL_WIDTH)
    return joined[how].join(groups)


def traces(nik: str, text: str) -> list[bytes]:
    """What must not be found in the hub's storage after ``text`` about ``nik`` was refused."""
    return [nik.encode(), text.encode()]
