"""Why a field is or is not released to a client, for a purpose, from a service."""

from __future__ import annotations

from dataclasses import dataclass

from policies.engine import PolicySet


@dataclass(frozen=True)
class Explanation:
    released: bool
    text: str


def explain(policies: PolicySet, client: str, purpose: str, service: str, name: str) -> Explanation:
    rule = policies.rule(client, purpose, service)
    if rule is None:
        return Explanation(False, _no_rule(policies, client, purpose, service))
    field_rule = rule.fields.get(name)
    covers = f"rule {rule.location} (client {client}, purpose {purpose}, service {service})"
    if field_rule is None:
        return Explanation(
            False,
            f"not released: {covers} does not list field {name!r}; "
            f"it releases {', '.join(rule.fields)}",
        )
    detail = "" if field_rule.detail in ("", field_rule.treatment) else f" ({field_rule.detail})"
    basis = f"basis {rule.basis}"
    if rule.legal_reference is not None:
        basis += f" under {rule.legal_reference}"
    if rule.two_person_approval:
        basis += ", two-person approval required"
    return Explanation(
        True,
        f"released {field_rule.treatment}{detail}: {covers} lists it at "
        f"{rule.source}:{field_rule.line}; {basis}",
    )


def _no_rule(policies: PolicySet, client: str, purpose: str, service: str) -> str:
    text = f"not released: no rule covers client {client}, purpose {purpose}, service {service}"
    # The likeliest slip is the purpose: say which ones this client does have for the service.
    purposes = [r.purpose for r in policies.rules() if (r.client, r.service) == (client, service)]
    if purposes:
        text += f" (this client has rules for that service with purpose {', '.join(purposes)})"
    return text + "; deny by default"
