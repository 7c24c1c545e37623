"""The audit log on the hub's side: the sequencer that appends records in batches, the tree
it stores, the checkpoint publisher that signs, and the keyed subject pseudonyms. The formats
and proofs a verifier needs are the kernel's (``jembatan.audit``)."""
