"""The audit log as a verifier sees it: record format, Merkle maths, signed checkpoints,
receipts and exported ranges. Pure functions over bytes and keys, no I/O and no server: the
hub's log (``hub.audit``), the client SDK and ``jembatan audit verify`` all use these."""
