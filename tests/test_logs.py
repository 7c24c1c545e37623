"""The hub's stderr: what gRPC core (C++) writes there comes out as log records in the
chosen format, a refused TLS handshake as one line with its cause, counted. Through a real
process whose descriptor 2 is captured (the hub's own test is in
tests/integration/test_operations.py, with real handshakes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from hub.logs import TLS_CAUSE_NAMES, tls_refusal

# gRPC core's words for each cause, as grpcio 1.85 (BoringSSL) writes them.
SEEN = {
    "no_certificate": "SSL_ERROR_SSL: error:100000c0:SSL routines:OPENSSL_internal:"
    "PEER_DID_NOT_RETURN_A_CERTIFICATE: Invalid certificate verification context",
    "unknown_ca": "SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:"
    "CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate",
    "expired": "SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:"
    "CERTIFICATE_VERIFY_FAILED: certificate has expired",
    "not_yet_valid": "SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:"
    "CERTIFICATE_VERIFY_FAILED: certificate is not yet valid",
    "certificate_invalid": "SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:"
    "CERTIFICATE_VERIFY_FAILED: certificate signature failure",
    "not_tls": "SSL_ERROR_SSL: error:1000009c:SSL routines:OPENSSL_internal:HTTP_REQUEST:"
    " Invalid certificate verification context",
    "other": "SSL_ERROR_SSL: error:100000b8:SSL routines:OPENSSL_internal:NO_SHARED_CIPHER",
}


@pytest.mark.parametrize("cause", sorted(SEEN))
def test_each_refused_handshake_has_its_cause(cause: str) -> None:
    assert tls_refusal(f"Handshake failed with error {SEEN[cause]}") == (cause, SEEN[cause])


def test_the_causes_are_the_metrics_label_values() -> None:
    assert set(SEEN) == set(TLS_CAUSE_NAMES)


def test_other_lines_are_no_refused_handshake() -> None:
    assert tls_refusal("Failed to create secure subchannel for secure name 'x'") is None


PROGRAM = textwrap.dedent(
    """
    import logging, os, sys
    from hub.logs import NativeStderr, configure

    configure(sys.argv[1], logging.INFO)
    native = NativeStderr()
    native.capture()
    native.on_tls_refusal = lambda cause: print("counted", cause, flush=True)
    # As gRPC core writes: straight to descriptor 2, bypassing Python.
    os.write(2, b"I1204 17:40:36.768551   11472 ssl_transport_security.cc:2563] "
        b"Handshake failed with error SSL_ERROR_SSL: error:1000007d:SSL routines:"
        b"OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: certificate has expired\\n")
    os.write(2, b"E1204 17:40:37.000001   11473 chttp2_transport.cc:1234] "
        b"keepalive watchdog timeout\\n")
    logging.getLogger("hub.server").info("hub listening")
    # Python's own text on stderr: a traceback, then the exit (the last lines must not be
    # lost with it).
    raise RuntimeError("boom")
    """
)


def _run(log_format: str = "json", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, log_format],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_grpc_core_and_python_text_on_stderr_come_out_as_json_lines() -> None:
    ran = _run()
    assert ran.returncode == 1
    assert ran.stdout == "counted expired\n"
    lines = [json.loads(line) for line in ran.stderr.splitlines()]  # each one JSON object
    by_logger = {line["logger"]: line for line in lines}
    assert set(by_logger) == {"hub.tls", "grpc.core", "hub.server", "hub.stderr"}
    refused = by_logger["hub.tls"]
    assert (refused["level"], refused["message"], refused["cause"]) == (
        "WARNING",
        "tls handshake refused",
        "expired",
    )
    core = by_logger["grpc.core"]
    assert (core["level"], core["message"], core["source"]) == (
        "ERROR",
        "keepalive watchdog timeout",
        "chttp2_transport.cc",
    )
    # The traceback is one record, not a line each.
    traceback = by_logger["hub.stderr"]["message"]
    assert traceback.startswith("Traceback (most recent call last):")
    assert traceback.endswith("RuntimeError: boom")


def test_a_grpc_verbosity_that_hides_the_handshakes_is_warned_of() -> None:
    lines = [json.loads(line) for line in _run(GRPC_VERBOSITY="ERROR").stderr.splitlines()]
    assert any(
        line["logger"] == "hub.tls" and "GRPC_VERBOSITY=ERROR" in line["message"] for line in lines
    )


def test_in_text_format_grpc_core_is_formatted_and_other_text_passes_as_it_came() -> None:
    ran = _run("text")
    lines = ran.stderr.splitlines()
    assert next(line for line in lines if "hub.tls:" in line).endswith(
        "WARNING hub.tls: tls handshake refused cause=expired detail=SSL_ERROR_SSL: "
        "error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: "
        "certificate has expired"
    )
    assert next(line for line in lines if "grpc.core:" in line).endswith(
        "ERROR grpc.core: keepalive watchdog timeout source=chttp2_transport.cc"
    )
    assert not [line for line in lines if "ssl_transport_security.cc:" in line]
    # A person reads a traceback best as Python wrote it.
    assert lines[-3:] == [
        "Traceback (most recent call last):",
        '  File "<string>", line 18, in <module>',
        "RuntimeError: boom",
    ]
