"""Log output: the human format, or one JSON object per line for log shippers.

A record's structured fields travel in ``extra={"fields": {...}}``; both formats show
them. Callers put only ids, pseudonyms, digests, codes and numbers there — never a NIK,
a field value or a consent token — and so does the per-exchange line (``EXCHANGES``).
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

# One INFO line per exchange (``hub.pipeline.chain``): its correlation ids and outcome.
EXCHANGES = logging.getLogger("hub.exchanges")
FORMATS = ("text", "json")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, then the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: an exception's text may quote the data it was handed.
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """The human format, with the record's fields as key=value after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _fields(record)
        if fields:
            text += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return text


def configure(log_format: str, level: int) -> None:
    """Log to stderr in ``log_format`` (one of FORMATS) from ``level`` up."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
