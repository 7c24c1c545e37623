"""What the audit log shows at a glance: the dashboard's figures and the anomaly flags.

Pure functions of records (``entries``) and thresholds (``thresholds``, a YAML file):
nothing of the server, no clock, no state. The console and ``jembatan audit anomalies``
feed them records streamed from the Audit API; anyone holding an export of the log can
recompute the same figures and flags.
"""
