"""What the hub keeps: member certificates, service routes, consent revocations, replay
nonces and the audit log. ``base`` names the interfaces; ``sqlite`` is the embedded engine."""
