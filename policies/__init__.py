"""The per-field policy engine: deny by default, release raw, masked, bucketed or a predicate.

The hub loads the policy files once (``load_policies``) and asks ``PolicySet.decide`` on every
query; this package never imports the hub.
"""

from policies.engine import Decision, FieldRule, PolicySet, Rule, Treatment
from policies.loader import DEFAULT_DIRECTORY, PolicyFileError, load_policies
from policies.transforms import PolicyValueError, TreatmentError

__all__ = [
    "DEFAULT_DIRECTORY",
    "Decision",
    "FieldRule",
    "PolicyFileError",
    "PolicySet",
    "PolicyValueError",
    "Rule",
    "Treatment",
    "TreatmentError",
    "load_policies",
]
