"""The console's HTML, built with f-strings: every value passes through ``html.escape``
(record fields come from agencies' and clients' requests, so none of them is trusted markup).

No page ever holds a NIK: records carry only pseudonyms, and a NIK typed into the search form
goes to the hub and is never written back into a page.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from html import escape

from hub.console.reader import Consistency, Inclusion
from jembatan.v1 import audit_pb2

STYLE = (
    "body{font-family:sans-serif;margin:1.5em;max-width:70em}"
    "nav a{margin-right:1em}nav form{display:inline}table{border-collapse:collapse}"
    "td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}"
    ".ok{color:#060}.bad{color:#a00;font-weight:bold}"
    "label{display:inline-block;min-width:9em}form p{margin:.3em 0}code{word-break:break-all}"
)
# The page's only style, allowed by hash so the CSP can forbid every other inline content.
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

SEARCH_FIELDS: tuple[tuple[str, str], ...] = (
    ("time_from", "time from (RFC 3339, e.g. 2026-05-01T08:00:00+07:00)"),
    ("time_to", "time to (exclusive)"),
    ("client_id", "client"),
    ("service_id", "service"),
    ("purpose", "purpose"),
    ("reason", "reason"),
    ("on_behalf_of", "officer (calls made for them)"),
)
DECISIONS = ("", "RELEASED", "REFUSED")


def layout(title: str, body: str, officer: str | None = None) -> str:
    nav = ""
    if officer is not None:
        nav = (
            '<nav><a href="/">search</a><a href="/refusals">refusals</a>'
            '<a href="/break-glass">break-glass</a>'
            '<a href="/integrity">integrity</a>'
            "<form method=post action=/logout>"
            f"signed in as {escape(officer)} <button>log out</button></form></nav>"
        )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)} · Jembatan audit console</title><style>{STYLE}</style>"
        f"</head><body>{nav}<h1>{escape(title)}</h1>{body}</body></html>"
    )


def login_page(message: str | None = None) -> str:
    note = failure(message) if message else ""
    return layout(
        "Officer login",
        f"{note}<form method=post action=/login>"
        "<p><label for=name>officer</label><input id=name name=name autocomplete=username></p>"
        "<p><label for=password>password</label>"
        "<input id=password name=password type=password autocomplete=current-password></p>"
        "<p><button>log in</button></p></form>",
    )


def failure(message: str) -> str:
    return f'<p class="bad">{escape(message)}</p>'


def error_page(title: str, message: str, officer: str | None) -> str:
    return layout(title, failure(message), officer)


def search_form(values: Mapping[str, str], nik_searched: bool) -> str:
    rows = "".join(
        f'<p><label for="{name}">{escape(label)}</label>'
        f'<input id="{name}" name="{name}" value="{escape(values.get(name, ""))}" size=40></p>'
        for name, label in SEARCH_FIELDS
    )
    options = "".join(
        f'<option value="{escape(d)}"{" selected" if values.get("decision") == d else ""}>'
        f"{escape(d or 'any')}</option>"
        for d in DECISIONS
    )
    # The NIK field is always empty when the page comes back: the NIK is not echoed.
    subject = "subject: (searched by NIK)" if nik_searched else ""
    return (
        # POST: a NIK in a query string would land in browser history and access logs.
        "<form method=post action=/ id=search>"
        f"{rows}<p><label for=decision>decision</label>"
        f"<select id=decision name=decision>{options}</select></p>"
        "<p><label for=subject>subject NIK</label>"
        "<input id=subject name=subject type=password autocomplete=off inputmode=numeric>"
        f" {escape(subject)}</p><p><button>search</button></p></form>"
    )


# (record key, column heading) of a results table.
Columns = tuple[tuple[str, str], ...]
RESULT_COLUMNS: Columns = (
    ("time", "time"),
    ("client_id", "client"),
    # The officer the console vouched for, when the client is the console: who really asked.
    ("on_behalf_of", "officer"),
    ("service_id", "service"),
    ("purpose", "purpose"),
    ("subject", "subject (pseudonym)"),
    ("decision", "decision"),
    ("reason", "reason"),
)
# Break-glass review: what the officer has to judge is the law named, the reason given and
# who countersigned.
BREAK_GLASS_COLUMNS: Columns = (
    ("time", "time"),
    ("client_id", "client"),
    ("purpose", "purpose"),
    ("legal_basis", "basis"),
    ("legal_reference", "legal reference"),
    ("justification", "justification"),
    ("approved_by", "approved by"),
    ("decision", "decision"),
    ("reason", "reason"),
)

# Shown whole in a results table: a justification is what the officer judges, and an
# officer's name (at most 64 characters) is who asked.
_IN_FULL = frozenset({"justification", "on_behalf_of"})


def results(
    response: audit_pb2.SearchResponse,
    search_id: str | None,
    columns: Columns = RESULT_COLUMNS,
) -> str:
    rows = "".join(_row(entry, columns) for entry in response.entries)
    if not rows:
        return "<p>No records match.</p>"
    more = ""
    if response.more and search_id is not None:
        last = response.entries[-1].index
        more = (
            "<form method=post action=/more>"
            f'<input type=hidden name=search value="{escape(search_id)}">'
            f'<input type=hidden name=after value="{escape(str(last))}">'
            "<button>next page</button></form>"
        )
    return (
        f"<p>{len(response.entries)} record{'' if len(response.entries) == 1 else 's'}"
        f"{' (more follow: next page below)' if response.more else ''}.</p>"
        "<table id=results><tr><th>index</th>"
        + "".join(f"<th>{escape(heading)}</th>" for _, heading in columns)
        + f"</tr>{rows}</table>{more}"
    )


def _row(entry: audit_pb2.AuditEntry, columns: Columns) -> str:
    record = _fields(entry.record_json)
    index = escape(str(entry.index))
    cells = "".join(
        f"<td>{escape(str(value) if name in _IN_FULL else _short(value))}</td>"
        for name, _ in columns
        for value in [record.get(name, "")]
    )
    return f'<tr><td><a href="/record/{index}">{index}</a></td>{cells}</tr>'


def _short(value: object) -> str:
    text = str(value)
    return text[:16] + "…" if len(text) > 40 else text


def _fields(record_json: bytes) -> dict[str, object]:
    try:
        doc = json.loads(record_json)
    except ValueError:
        return {"error": "record is not JSON"}
    return doc if isinstance(doc, dict) else {"error": "record is not a JSON object"}


def record_page(entry: audit_pb2.AuditEntry, inclusion: Inclusion, officer: str) -> str:
    record = _fields(entry.record_json)
    rows = "".join(
        f"<tr><th>{escape(name)}</th><td>{escape(_value(value))}</td></tr>"
        for name, value in sorted(record.items())
    )
    checkpoint = inclusion.checkpoint
    if inclusion.failure is None and checkpoint is not None:
        verdict = (
            f"<p class=ok id=proof>✓ inclusion proof verified against checkpoint of size "
            f"{escape(str(checkpoint.size))} (root <code>{escape(checkpoint.root_hash.hex())}"
            "</code>)</p>"
        )
    else:
        verdict = (
            f"<p class=bad id=proof>✗ inclusion proof FAILED: {escape(inclusion.failure or '')}</p>"
        )
    leaf = escape(entry.leaf_hash.hex())
    return layout(
        f"Record {entry.index}",
        f"{verdict}<p>leaf hash <code>{leaf}</code></p><table id=record>{rows}</table>",
        officer,
    )


def _value(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(
            f"{item.get('name', '')} ({item.get('treatment', '')})"
            if isinstance(item, dict)
            else str(item)
            for item in value
        )
    return str(value)


def integrity_page(consistency: Consistency, officer: str) -> str:
    latest, previous = consistency.latest, consistency.previous
    head = (
        f"<table id=checkpoint><tr><th>latest checkpoint size</th>"
        f"<td>{escape(str(latest.size))}</td></tr>"
        f"<tr><th>root hash</th><td><code>{escape(latest.root_hash.hex())}</code></td></tr>"
        f"<tr><th>origin</th><td>{escape(latest.origin)}</td></tr></table>"
        "<p class=ok>✓ signature verified with the hub's verifier key</p>"
    )
    if consistency.failure is None:
        verdict = (
            f"<p class=ok id=consistency>✓ consistency verified from checkpoint of size "
            f"{escape(str(previous.size))} to size {escape(str(latest.size))}</p>"
        )
    else:
        verdict = (
            "<p class=bad id=consistency>✗ consistency FAILED — the log is not an extension of "
            f"the checkpoint of size {escape(str(previous.size))} this console trusted: "
            f"{escape(consistency.failure)}</p>"
        )
    return layout("Log integrity", head + verdict, officer)
