"""The audit log's tables: records, the Merkle tree's complete nodes and the signed
checkpoints, read by the store and appended by the one writer that holds the sequencing
lock."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence

from hub.audit import tree
from hub.store.base import Nonce, PendingEntry
from hub.store.database import Database, Tables
from jembatan.audit.merkle import hash_leaf

# The officers' search filters (``search``). The JSON ones differ per engine.
SEARCH_COLUMNS = {
    "time_from": "time >= ?",
    "time_to": "time < ?",
    "client_id": "client_id = ?",
    "service_id": "service_id = ?",
    "decision": "decision = ?",
    "reason": "reason = ?",
    "subject": "subject = ?",
}

_EXPORT_PAGE = 4096
_NONCE_PRUNE_EVERY_S = 60


def consent_uses(entries: Sequence[PendingEntry]) -> list[tuple[str, int, str]]:
    """(consent id, uses, last use) per consent released under in ``entries``."""
    uses: dict[str, tuple[int, str]] = {}
    for e in entries:
        if e.consent_id and e.decision == "RELEASED":
            count, last = uses.get(e.consent_id, (0, ""))
            uses[e.consent_id] = (count + 1, max(last, e.time))
    return [(cid, count, last) for cid, (count, last) in uses.items()]


class NodeTable:
    """The tree's complete nodes in ``audit_nodes`` (a tree.NodeReader); writes join the
    caller's transaction, so the tree and the log are durable together or not at all."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def node(self, level: int, index: int) -> bytes:
        row = self._db.execute(
            "SELECT hash FROM audit_nodes WHERE level = ? AND idx = ?", (level, index)
        ).fetchone()
        if row is None:
            raise tree.MissingNode(level, index)
        return bytes(row[0])

    def border(self, size: int) -> dict[tuple[int, int], bytes]:
        """The complete nodes on the right border of the tree of ``size`` (one per set bit
        of ``size``), in one read: the left siblings ``tree.new_nodes`` asks for when
        appending to it, so a batch reads its border in one round trip, not one per level."""
        wanted = [(level, (size >> level) - 1) for level in range(size.bit_length())]
        wanted = [(level, index) for level, index in wanted if size >> level & 1]
        if not wanted:
            return {}
        where = " OR ".join(["(level = ? AND idx = ?)"] * len(wanted))
        rows = self._db.execute(
            f"SELECT level, idx, hash FROM audit_nodes WHERE {where}",
            [value for pair in wanted for value in pair],
        )
        return {(int(level), int(idx)): bytes(h) for level, idx, h in rows}

    def put(self, nodes: Iterable[tree.Node]) -> None:
        # Plain INSERT: a node written twice is a sequencing bug and fails the batch.
        self._db.executemany("INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)


class AuditTables(Tables):
    """The log's read side with its tree, checkpoints and search."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._nodes = NodeTable(db)

    def size(self) -> int:
        return int(
            self._db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log").fetchone()[0]
        )

    def entry(self, index: int) -> tuple[bytes, bytes] | None:
        row = self._db.execute(
            "SELECT leaf_hash, record FROM audit_log WHERE idx = ?", (index,)
        ).fetchone()
        return (bytes(row[0]), bytes(row[1])) if row else None

    def entries(self) -> Iterable[tuple[int, bytes, bytes]]:
        for page in range(0, self.size(), _EXPORT_PAGE):
            rows = self._db.execute(
                "SELECT idx, leaf_hash, record FROM audit_log WHERE idx >= ? AND idx < ?"
                " ORDER BY idx",
                (page, page + _EXPORT_PAGE),
            ).fetchall()
            for idx, leaf, record in rows:
                yield int(idx), bytes(leaf), bytes(record)

    # the Merkle tree and its checkpoints
    def tree_root(self, size: int) -> bytes:
        return tree.root(size, self._nodes)

    def committed_leaf(self, index: int) -> bytes:
        """The leaf hash the tree committed to at ``index``."""
        return self._nodes.node(0, index)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return tree.inclusion_proof(index, size, self._nodes)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return tree.consistency_proof(old_size, new_size, self._nodes)

    def tree_size(self) -> int:
        """Leaves the tree commits to. The sequencer writes records and nodes together, so
        it equals the log's size; checkpoints and proofs go by the tree, not the records."""
        row = self._db.execute(
            "SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_nodes WHERE level = 0"
        ).fetchone()
        return int(row[0])

    def add_checkpoint(self, size: int, root: bytes, note: str, signed_at: str) -> None:
        self._db.execute(
            "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (size, root, note, signed_at),
        )

    def latest_checkpoint(self) -> tuple[int, str] | None:
        """(size, signed note) of the largest checkpoint."""
        row = self._db.execute(
            "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def latest_checkpoint_signed(self) -> tuple[int, str] | None:
        """(size, signed_at) of the largest checkpoint, for its age."""
        row = self._db.execute(
            "SELECT size, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def checkpoints(self) -> list[tuple[int, str]]:
        """Every stored (size, signed note), oldest first."""
        rows = self._db.execute("SELECT size, note FROM checkpoints ORDER BY size")
        return [(int(size), str(note)) for size, note in rows]

    # witnesses' cosignatures
    def add_cosignature(self, size: int, witness: str, line: str, cosigned_at: int) -> None:
        self._db.execute(
            "INSERT INTO cosignatures (size, witness, line, cosigned_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (size, witness, line, cosigned_at),
        )

    def cosignatures(self, size: int) -> list[str]:
        """The cosignature lines stored for the checkpoint of ``size``, by witness name."""
        rows = self._db.execute(
            "SELECT line FROM cosignatures WHERE size = ? ORDER BY witness", (size,)
        )
        return [str(line) for (line,) in rows]

    def first_checkpoint_after(self, size: int) -> str | None:
        """When the smallest checkpoint larger than ``size`` was signed (None: none is)."""
        row = self._db.execute(
            "SELECT signed_at FROM checkpoints WHERE size > ? ORDER BY size LIMIT 1", (size,)
        ).fetchone()
        return str(row[0]) if row else None

    def latest_cosignatures(self) -> dict[str, tuple[int, int]]:
        """Witness name → (size, unix time) of the largest checkpoint it cosigned."""
        rows = self._db.execute(
            "SELECT witness, size, cosigned_at FROM cosignatures c WHERE size ="
            " (SELECT MAX(size) FROM cosignatures d WHERE d.witness = c.witness)"
        )
        return {str(w): (int(size), int(at)) for w, size, at in rows}

    def inclusion_proofs(self, start: int, end: int, size: int) -> Iterator[list[bytes]]:
        """The proofs of leaves [start, end) in the tree of ``size``: neighbours share most
        of their path, so each node is read from storage once for the whole range."""
        reader = tree.CachedNodes(self._nodes)
        for index in range(start, end):
            yield tree.inclusion_proof(index, size, reader)

    def committed_entries(
        self, size: int, start: int = 0
    ) -> Iterator[tuple[int, bytes, bytes | None]]:
        """(index, leaf hash the tree committed to, stored record or None) for indices
        [start, size), read a page at a time so no read stays open across a long export."""
        for page in range(start, size, _EXPORT_PAGE):
            rows = self._db.execute(
                "SELECT n.idx, n.hash, a.record FROM audit_nodes n"
                " LEFT JOIN audit_log a ON a.idx = n.idx"
                " WHERE n.level = 0 AND n.idx >= ? AND n.idx < ? ORDER BY n.idx",
                (page, min(page + _EXPORT_PAGE, size)),
            ).fetchall()
            for idx, leaf, record in rows:
                # A tampered row may hold text where a blob was: still bytes to hash.
                stored = record.encode() if isinstance(record, str) else record
                yield int(idx), bytes(leaf), None if stored is None else bytes(stored)

    def search(
        self,
        filters: Mapping[str, str],
        *,
        after_index: int | None,
        limit: int,
        before_index: int | None = None,
        newest_first: bool = False,
    ) -> list[tuple[int, bytes, bytes]]:
        """(index, leaf hash, record) of records matching every filter, in log order (or
        newest first), only those after ``after_index`` and before ``before_index``.

        ``filters`` keys: time_from, time_to, client_id, service_id, purpose, decision,
        reason, subject (a pseudonym), consent_id, request_digest, break_glass ("1": only
        break-glass records, "0": only others), on_behalf_of, kind
        (``jembatan.audit.record.KINDS``), officer and officer_event (of an officer-event
        record), reviewed_index (reviews of that record, in decimal). Values are bound,
        never spliced into the SQL.
        """
        clauses: list[str] = []
        params: list[str | int] = []
        for key, value in filters.items():
            clause = SEARCH_COLUMNS.get(key) or self._db.json_clauses.get(key)
            if clause is None:
                raise ValueError(f"unknown search filter {key!r}")
            if key == "break_glass" and value not in ("0", "1"):
                raise ValueError(f"break_glass filter must be '0' or '1', not {value!r}")
            if key == "reviewed_index" and not value.isdigit():
                raise ValueError(f"reviewed_index filter must be an index, not {value!r}")
            clauses.append(clause)
            params.append(value)
        if after_index is not None:
            clauses.append("idx > ?")
            params.append(after_index)
        if before_index is not None:
            clauses.append("idx < ?")
            params.append(before_index)
        where = " AND ".join(clauses) or "TRUE"
        order = "DESC" if newest_first else "ASC"
        rows = self._db.execute(
            f"SELECT idx, leaf_hash, record FROM audit_log WHERE {where} ORDER BY idx {order}"
            " LIMIT ?",
            (*params, limit),
        )
        return [(int(idx), bytes(leaf), bytes(record)) for idx, leaf, record in rows]


class _RolledBack(Exception):
    """Ends a probe's transaction without committing it."""


class SqlAuditWriter:
    """The log's writer (``AuditWriter``): one durable transaction per batch, holding the
    engine's sequencing lock, so the batch's first index is decided where it is written."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._nodes = NodeTable(db)
        self._last_prune = 0.0

    def append(self, entries: Sequence[PendingEntry]) -> int:
        with self._db.sequencing():
            first = self._write(entries)
            self._prune_nonces()
        return first

    def probe(self) -> None:
        """Write one record as ``append`` would — record, tree nodes, nonce — and roll it
        back: raises if the log cannot take one now (health checks, so a mended store is
        noticed without traffic, and a broken tree is not mistaken for a healthy log)."""
        record = b'{"probe":true}'
        probe = PendingEntry(
            record_json=record,
            leaf_hash=hash_leaf(record),
            time="",
            client_id="",
            service_id="",
            decision="",
            reason="",
            subject="",
            nonces=(Nonce("jembatan-probe", "probe", 0),),
        )
        try:
            with self._db.sequencing():
                self._write([probe])
                raise _RolledBack
        except _RolledBack:
            pass

    def _write(self, entries: Sequence[PendingEntry]) -> int:
        """The batch's writes, inside the caller's sequencing transaction; its first index."""
        db = self._db
        first = int(db.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM audit_log").fetchone()[0])
        # The tree's new complete nodes are durable with the records they cover. Made from
        # the old border alone, so they are known before anything is written.
        border = self._nodes.border(first)

        def node(level: int, index: int) -> bytes:
            found = border.get((level, index))
            return found if found is not None else self._nodes.node(level, index)

        nodes = tree.new_nodes(first, [e.leaf_hash for e in entries], node)
        uses = consent_uses(entries)
        # The writes read nothing back: sent together (one round trip on PostgreSQL).
        with db.batched():
            self._put(first, entries, nodes, uses)
        return first

    def _put(
        self,
        first: int,
        entries: Sequence[PendingEntry],
        nodes: Iterable[tree.Node],
        uses: list[tuple[str, int, str]],
    ) -> None:
        db = self._db
        db.executemany(
            "INSERT INTO audit_log (idx, leaf_hash, record, time, client_id, service_id,"
            " decision, reason, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    first + offset,
                    e.leaf_hash,
                    e.record_json,
                    e.time,
                    e.client_id,
                    e.service_id,
                    e.decision,
                    e.reason,
                    e.subject,
                )
                for offset, e in enumerate(entries)
            ],
        )
        self._nodes.put(nodes)
        # A nonce is durable with the record of its exchange, so a restart cannot reopen a
        # replay window for anything already answered.
        db.executemany(
            "INSERT INTO nonces (issuer, nonce, expires_at) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [(n.issuer, n.value, n.expires_at) for e in entries for n in e.nonces],
        )
        if uses:
            db.executemany(db.count_uses_sql, uses)

    def _prune_nonces(self) -> None:
        now = time.time()
        if now - self._last_prune > _NONCE_PRUNE_EVERY_S:
            self._db.execute("DELETE FROM nonces WHERE expires_at < ?", (int(now) - 60,))
            self._last_prune = now

    def catch_up_tree(self) -> None:
        """Build the nodes of leaves logged before the tree was kept (older homes)."""
        covered = int(
            self._db.execute("SELECT COUNT(*) FROM audit_nodes WHERE level = 0").fetchone()[0]
        )
        while True:
            leaves = [
                bytes(row[0])
                for row in self._db.execute(
                    "SELECT leaf_hash FROM audit_log WHERE idx >= ? ORDER BY idx LIMIT 4096",
                    (covered,),
                )
            ]
            if not leaves:
                return
            with self._db.sequencing():
                self._nodes.put(tree.new_nodes(covered, leaves, self._nodes.node))
            covered += len(leaves)

    def close(self) -> None:
        self._db.close()
