"""Size limits of the wire contract, enforced by the hub and checked early by the SDKs."""

# Fields one query may ask for.
MAX_FIELDS = 64
# Legs (services) of one fan-out.
MAX_LEGS = 16
# Characters of a client-chosen correlation id (request_id, applicant_id).
MAX_CORRELATION_ID = 64
# Bytes of one gRPC message, either way.
MAX_MESSAGE_BYTES = 64 * 1024
