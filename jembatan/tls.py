"""mTLS listening, the one way every Jembatan gRPC server binds: client certificates of
the hub CA are required, so a caller without one gets nothing (not even a refusal)."""

from __future__ import annotations

import grpc


def listen_mtls(
    server: grpc.aio.Server, listen: str, *, key_pem: bytes, cert_pem: bytes, ca_pem: bytes
) -> int:
    """Bind ``server`` to ``listen`` (HOST:PORT, port 0 for any) and return the port."""
    credentials = grpc.ssl_server_credentials(
        [(key_pem, cert_pem)], root_certificates=ca_pem, require_client_auth=True
    )
    port = server.add_secure_port(listen, credentials)
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    return port
