"""The hub's home directory: where its CA, keys, database and members' files live.

```
HOME/ca/ca.crt, ca.key          the hub CA (issues member certificates)
HOME/hub/cert.pem, key.pem      the hub's own member certificate (TLS server and client)
HOME/hub/log.key                Ed25519 key that signs receipts and checkpoints (not TLS)
HOME/hub/log.vkey               its checkpoint verifier key string, to publish
HOME/hub/pseudonym.key          HMAC key that turns NIKs into audit pseudonyms
HOME/consent-manager.pub        the consent manager's (Perlinsos portal's) public key
HOME/anomalies.yaml             the anomaly flags' thresholds, if the operator changed them
                                (``jembatan.insights.thresholds``; else the shipped ones)
HOME/hub.db                     SQLite: registry, consents, nonces, audit log (unless the
                                home is configured with a PostgreSQL database_url)
HOME/members/<member>/          key and certificate of members enrolled from this machine
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HUB_MEMBER_ID = "ID/GOV/SPLP/hub"
CONSENT_MANAGER_ID = "ID/GOV/KEMENSOS/perlinsos-portal"


def write_private(path: Path, data: bytes) -> None:
    """Write a secret with mode 0600 from the start (no window where it is world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


@dataclass(frozen=True)
class HubHome:
    root: Path
    # A PostgreSQL DSN: the store lives there instead of in ``database`` (several replicas
    # share one). From ``jembatan --database`` or $JEMBATAN_DATABASE.
    database_url: str | None = None

    @property
    def ca_dir(self) -> Path:
        return self.root / "ca"

    @property
    def ca_cert(self) -> Path:
        return self.ca_dir / "ca.crt"

    @property
    def hub_cert(self) -> Path:
        return self.root / "hub" / "cert.pem"

    @property
    def hub_key(self) -> Path:
        return self.root / "hub" / "key.pem"

    @property
    def log_key(self) -> Path:
        return self.root / "hub" / "log.key"

    @property
    def log_public_key(self) -> Path:
        return self.root / "hub" / "log.pub"

    @property
    def log_verifier_key(self) -> Path:
        """The checkpoint verifier key string, to publish beside the log."""
        return self.root / "hub" / "log.vkey"

    @property
    def pseudonym_key(self) -> Path:
        return self.root / "hub" / "pseudonym.key"

    @property
    def consent_manager_public_key(self) -> Path:
        return self.root / "consent-manager.pub"

    @property
    def database(self) -> Path:
        return self.root / "hub.db"

    @property
    def anomaly_thresholds(self) -> Path | None:
        """The operator's thresholds file for the anomaly flags, if there is one."""
        path = self.root / "anomalies.yaml"
        return path if path.is_file() else None

    def member_dir(self, member_id: str) -> Path:
        return self.root / "members" / member_id.replace("/", "_")
