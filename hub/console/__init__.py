"""The security officers' web console: a dashboard of the exchange log with its anomaly
flags, search it, open a record with its inclusion proof verified here, watch the log's
integrity and its witnesses, review refusals.

It is its own process (``jembatan console``) and an ordinary gRPC client of the hub with an
auditor member certificate: it holds no database handle and no signing key, so it trusts the
hub only as far as the signed checkpoints and proofs it checks itself.
"""
