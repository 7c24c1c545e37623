"""Log output: the human format, or one JSON object per line for log shippers.

A record's structured fields travel in ``extra={"fields": {...}}``; both formats show
them. Callers put only ids, pseudonyms, digests, codes and numbers there — never a NIK,
a field value or a consent token — and so does the per-exchange line (``EXCHANGES``).

gRPC core (C++) writes its own lines straight to the process's stderr, in absl's text
format, where Python's logging never sees them — among them the only word of a TLS
handshake it refused (no client certificate, another CA, expired), before any call
exists. ``NativeStderr`` puts a pipe under file descriptor 2 and reads it back in a
thread: each of those lines becomes a log record in the chosen format (``grpc.core``), a
refused handshake one ``hub.tls`` line with its cause, counted by a callback (the hub's
metric); so nothing but the chosen format ever reaches stderr.
"""

from __future__ import annotations

import atexit
import datetime
import json
import logging
import os
import re
import select
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

# One INFO line per exchange (``hub.pipeline.chain``): its correlation ids and outcome.
EXCHANGES = logging.getLogger("hub.exchanges")
FORMATS = ("text", "json")
# What gRPC core writes to stderr, and anything else that does (a traceback, a warning).
GRPC_CORE = logging.getLogger("grpc.core")
STDERR = logging.getLogger("hub.stderr")
# One WARNING line per TLS handshake the hub refused, with its cause.
TLS = logging.getLogger("hub.tls")

_handler: logging.StreamHandler[IO[str]] | None = None


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
    global _handler
    handler: logging.StreamHandler[IO[str]] = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    _handler = handler


# absl's line: severity, MMDD, time, thread id, file:line] message.
#   I1204 17:40:36.768551   11472 ssl_transport_security.cc:2563] Handshake failed with ...
_CORE_LINE = re.compile(r"([IWEF])\d{4} [\d:.]+ +\d+ ([^\s:\]]+):\d+\] ?(.*)")
_CORE_LEVELS = {"I": logging.INFO, "W": logging.WARNING, "E": logging.ERROR, "F": logging.CRITICAL}
_HANDSHAKE_FAILED = "Handshake failed with error "
# Why a handshake was refused, read from BoringSSL's reason in gRPC core's line: a bounded
# set (it labels a metric), tried in this order; anything else is "other".
TLS_CAUSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("no_certificate", ("PEER_DID_NOT_RETURN_A_CERTIFICATE",)),
    ("expired", ("certificate has expired",)),
    ("not_yet_valid", ("certificate is not yet valid",)),
    (
        "unknown_ca",
        (
            "unable to get local issuer certificate",
            "unable to get issuer certificate",
            "unable to verify the first certificate",
            "self signed certificate",
            "self-signed certificate",
        ),
    ),
    ("certificate_invalid", ("CERTIFICATE_VERIFY_FAILED",)),
    ("not_tls", ("HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "WRONG_VERSION_NUMBER")),
)
TLS_CAUSE_NAMES = (*(cause for cause, _ in TLS_CAUSES), "other")
# The GRPC_VERBOSITY values at which gRPC core no longer writes the handshake lines (its
# INFO lines); unset, INFO and DEBUG keep them.
_HIDING_VERBOSITIES = ("ERROR", "NONE")
# Lines of other text that come within this of each other are one record.
_CONTINUATION_S = 0.05


def tls_refusal(message: str) -> tuple[str, str] | None:
    """(cause, BoringSSL's words) if gRPC core's ``message`` says it refused a handshake.
    Neither holds anything of the peer's certificate: BoringSSL names only the reason."""
    if not message.startswith(_HANDSHAKE_FAILED):
        return None
    detail = message.removeprefix(_HANDSHAKE_FAILED).strip()
    for cause, signs in TLS_CAUSES:
        if any(sign in detail for sign in signs):
            return cause, detail
    return "other", detail


class NativeStderr:
    """File descriptor 2 read back through a pipe and turned into log records; the log
    handler writes to the real stderr (a copy of the descriptor). Capture it once, as the
    process's first act; it gives the real stderr back at exit, after the last line."""

    def __init__(self) -> None:
        # Called with the cause of each refused handshake (from the reading thread).
        self.on_tls_refusal: Callable[[str], None] | None = None
        self._saved = -1
        self._thread: threading.Thread | None = None
        self._releasing = False

    def capture(self) -> None:
        if _handler is None:
            raise RuntimeError("configure the log before capturing stderr")
        # A line the handler could not write would be reported on stderr, read back,
        # logged and fail again: never report it.
        logging.raiseExceptions = False
        sys.stderr.flush()
        self._saved = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        _handler.setStream(
            os.fdopen(os.dup(self._saved), "w", encoding="utf-8", errors="backslashreplace")
        )
        self._thread = threading.Thread(
            target=self._read, args=(read,), name="native-stderr", daemon=True
        )
        self._thread.start()
        atexit.register(self.release)
        verbosity = os.environ.get("GRPC_VERBOSITY", "").upper()
        if verbosity in _HIDING_VERBOSITIES:
            TLS.warning(
                "GRPC_VERBOSITY=%s hides the handshakes gRPC core refuses: they go uncounted"
                " and unlogged (leave it unset)",
                verbosity,
            )

    def release(self) -> None:
        """The real stderr back on descriptor 2, once every line written so far is logged."""
        if self._thread is None:
            return
        sys.stderr.flush()
        self._releasing = True
        # Closes the pipe's only writing end: the thread reads to its end, then stops.
        os.dup2(self._saved, 2)
        self._thread.join(timeout=5)
        self._thread = None
        if _handler is not None:
            copy = _handler.setStream(sys.stderr)
            if copy is not None:
                copy.close()
        os.close(self._saved)

    def _read(self, fd: int) -> None:
        text: list[str] = []  # lines of other text not yet logged
        rest = b""
        try:
            while True:
                # With text pending, what continues it comes at once or not at all.
                ready, _, _ = select.select([fd], [], [], _CONTINUATION_S if text else None)
                if not ready:
                    self._text(text)
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                *lines, rest = (rest + chunk).split(b"\n")
                for line in lines:
                    self._line(text, line.decode("utf-8", "replace"))
            if rest:
                self._line(text, rest.decode("utf-8", "replace"))
            self._text(text)
        finally:
            os.close(fd)
            if not self._releasing:
                # This thread stopped early: writers to stderr must not block on a full
                # pipe nobody reads. They get the real stderr back, raw.
                os.dup2(self._saved, 2)

    def _line(self, text: list[str], line: str) -> None:
        """A gRPC core line is one record; other text (a traceback, a warning) is one
        record of the lines that come together."""
        header = _CORE_LINE.fullmatch(line)
        if header is None:
            if text or line.strip():
                text.append(line)
            return
        self._text(text)
        severity, source, message = header.groups()
        refusal = tls_refusal(message)
        if refusal is None:
            level = _CORE_LEVELS[severity]
            GRPC_CORE.log(level, message, extra={"fields": {"source": source}})
            return
        cause, detail = refusal
        if self.on_tls_refusal is not None:
            self.on_tls_refusal(cause)
        TLS.warning("tls handshake refused", extra={"fields": {"cause": cause, "detail": detail}})

    @staticmethod
    def _text(text: list[str]) -> None:
        """The pending lines of other text, then forget them: one record in JSON, as they
        came in text (a person reads a traceback, or the CLI's one-line error, best so)."""
        if not text or _handler is None:
            return
        if isinstance(_handler.formatter, JsonFormatter):
            STDERR.warning("\n".join(text).rstrip())
        else:
            _handler.acquire()  # not in the middle of another record's line
            try:
                _handler.stream.write("\n".join(text) + "\n")
                _handler.stream.flush()
            finally:
                _handler.release()
        text.clear()
