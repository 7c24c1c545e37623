"""The hub's storage logic, once for both engines.

The store is its table groups together, each in a module of its own: ``registry``
(certificates, services, administration), ``consents``, ``claims`` (decision claims and
replay nonces) and ``audit_log`` (records, tree, checkpoints, search, and the log's
writer). They run plain SQL that both engines accept through a ``database.Database``; the
engines (``sqlite``, ``postgres``) own only their connection and their few differences, and
``schema`` holds the tables both create.
"""

from __future__ import annotations

from hub.store.audit_log import AuditTables, NodeTable, SqlAuditWriter
from hub.store.base import Lease
from hub.store.claims import ClaimTables
from hub.store.consents import ConsentTables
from hub.store.database import Cursor, Database
from hub.store.registry import RegistryTables


class SqlStore(RegistryTables, ConsentTables, ClaimTables, AuditTables):
    """The hub's store (``HubStore``): registry, administration, consents, claims, nonces,
    and the audit log's read side with its tree, checkpoints and search."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.shared = db.shared
        self.threads = db.threads

    def close(self) -> None:
        self._db.close()

    def signer_lease(self) -> Lease:
        return self._db.lease()


__all__ = ["Cursor", "Database", "NodeTable", "SqlAuditWriter", "SqlStore"]
