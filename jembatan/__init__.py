"""Jembatan's kernel: what every party to the exchange shares, and nothing of the server.

The hub, the client SDKs (``jembatan.client``), agencies' connectors, the consent manager and
the policy tools all stand on it: identifiers and their grammar (``ids``), the NIK rules
(``subject``), keys and certificates (``keys``, ``certs``), signed statements (``jws``), the
error root (``errors``), mTLS binding (``tls``), field values and catalogues (``values``,
``catalogue``), the wire limits (``limits``), the audit log as a verifier sees it (``audit``)
and the generated contract (``v1``). Nothing here imports ``hub``.
"""
