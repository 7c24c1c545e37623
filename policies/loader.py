"""Load policy files into a ``PolicySet``, or explain in one line why a file is wrong.

Files are ``*.yaml`` in one directory, read in name order::

    rules:
      - client: ID/GOV/KEMENSOS/eligibility
        purpose: bansos-eligibility
        service: ID/GOV/BPJSTK/wages/employment
        fields:
          employment_status: raw
          employer: masked
          wage_band: {bucketed: [0, 1000000, 3000000]}
          monthly_wage: {predicate: {lt: 3000000}}
      - client: ID/GOV/KEMENSOS/eligibility
        purpose: bansos-emergency
        service: ID/GOV/BPJSTK/wages/employment
        basis: vital-interest            # default: consent
        legal_reference: UU 24/2007 tentang Penanggulangan Bencana, Pasal 48
        two_person_approval: true        # optional, only with a non-consent basis
        fields:
          employment_status: raw

The files are walked as YAML node trees (``yaml.compose``) rather than loaded as Python data:
nodes carry line numbers for every error, and PyYAML's loader would silently keep the last of
two duplicate keys, which here could quietly widen or change what a client receives.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from jembatan.errors import JembatanError
from policies.engine import BASES, TREATMENTS, Basis, FieldRule, PolicySet, Rule, RuleKey
from policies.predicates import PREDICATE_OPS
from policies.transforms import TreatmentError
from policies.yaml_nodes import (
    NodeProblem,
    document_items,
    flag,
    is_null,
    mapping,
    require_keys,
    scalar,
    text,
)

T = TypeVar("T")
DEFAULT_DIRECTORY = Path(__file__).resolve().parent
_RULE_KEYS = ("client", "purpose", "service", "fields")
_BASIS_KEYS = ("basis", "legal_reference", "two_person_approval")


class PolicyFileError(JembatanError, ValueError):
    """A policy file that cannot be loaded; ``str()`` is ``"<path>:<line>: <problem>"``."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


def load_policies(directory: Path | None = None) -> PolicySet:
    """Load every ``*.yaml`` in ``directory`` (default: the ``policies`` package directory).

    The version is ``"sha256:<hex>"`` over each file's name and bytes, in name order, so the same
    files always give the same version and any change to any file gives a new one.
    """
    return policies_from_files(read_policy_files(directory))


def policies_from_files(files: Sequence[tuple[Path, bytes]]) -> PolicySet:
    """The policy set of files already read (``read_policy_files``), so a caller that compared
    versions loads exactly the bytes it compared."""
    rules: list[Rule] = []
    seen: dict[RuleKey, Rule] = {}
    for path, data in files:
        for rule in load_policy_file(path, data):
            _refuse_conflict(rule, seen)
            seen[rule.key] = rule
            rules.append(rule)
    return PolicySet(rules, version=policy_version(files))


def read_policy_files(directory: Path | None = None) -> list[tuple[Path, bytes]]:
    """Each policy file of ``directory`` (default: the shipped ones) with its bytes, by name."""
    directory = DEFAULT_DIRECTORY if directory is None else directory
    if not directory.is_dir():
        raise PolicyFileError(str(directory), None, "policy directory not found")
    return [(path, path.read_bytes()) for path in sorted(directory.glob("*.yaml"))]


def policy_version(files: Sequence[tuple[Path, bytes]]) -> str:
    """The version ``load_policies`` gives these files, without parsing them."""
    digest = hashlib.sha256()
    for name, data in ((path.name, data) for path, data in files):
        # Length prefixes keep the (name, bytes) pairs unambiguous: bytes cannot move between
        # one file's name and another's body without changing the hash.
        for part in (name.encode(), data):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return f"sha256:{digest.hexdigest()}"


def _refuse_conflict(rule: Rule, seen: dict[RuleKey, Rule]) -> None:
    first = seen.get(rule.key)
    if first is not None:
        raise PolicyFileError(
            rule.source,
            rule.line,
            f"duplicate rule for client {rule.client!r}, purpose {rule.purpose!r}, "
            f"service {rule.service!r} (first at {first.source}:{first.line})",
        )


def load_policy_file(path: Path, data: bytes) -> list[Rule]:
    """The rules of one file; ``PolicyFileError`` names its first problem (conflicts between
    files are ``load_policies``'s business)."""
    rules = parse_yaml_file(path, data, lambda root: list(_parse_document(root)))
    return [dataclasses.replace(rule, source=str(path)) for rule in rules]


def parse_yaml_file(path: Path, data: bytes, parse: Callable[[Node | None], T]) -> T:
    """Compose one YAML file and walk its node tree with ``parse``, which raises ``NodeProblem``;
    every problem, the YAML's own included, becomes a one-line ``PolicyFileError``."""
    source = str(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyFileError(source, line, "not UTF-8 text") from None
    try:
        return parse(yaml.compose(text, Loader=yaml.SafeLoader))
    except NodeProblem as problem:
        raise PolicyFileError(source, problem.line, problem.problem) from None
    except yaml.MarkedYAMLError as exc:
        raise PolicyFileError(source, _yaml_error_line(exc), _yaml_problem(exc)) from None
    except yaml.reader.ReaderError as exc:  # a control character YAML does not allow
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        reason = f"invalid YAML: character U+{code:04X} is not allowed"
        raise PolicyFileError(source, line, reason) from None


def _yaml_error_line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return None if mark is None else mark.line + 1


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    parts = [part for part in (exc.context, exc.problem) if part]
    return "invalid YAML: " + ", ".join(parts)


def _parse_document(root: Node | None) -> Iterator[Rule]:
    for rule_node in document_items(root, "rules", "policy file"):
        yield _parse_rule(rule_node)


def _parse_rule(node: Node) -> Rule:
    entries = mapping(node, "a rule")
    require_keys(entries, node, _RULE_KEYS, where="rule", optional=_BASIS_KEYS)
    client, purpose, service = (text(entries[key][1], key) for key in _RULE_KEYS[:3])
    fields = _parse_fields(entries["fields"][1])
    basis, legal_reference, two_person_approval = _parse_basis(entries)
    return Rule(
        client,
        purpose,
        service,
        fields,
        line=node.start_mark.line + 1,
        basis=basis,
        legal_reference=legal_reference,
        two_person_approval=two_person_approval,
    )


def _parse_basis(entries: dict[str, tuple[Node, Node]]) -> tuple[Basis, str | None, bool]:
    basis = parse_basis(entries["basis"][1]) if "basis" in entries else "consent"
    reference = None
    if "legal_reference" in entries:
        reference = text(entries["legal_reference"][1], "legal_reference")
    approval = False
    if "two_person_approval" in entries:
        approval = flag(entries["two_person_approval"][1], "two_person_approval")
    if basis == "consent":
        # Either key would suggest an exception to consent that the rule does not make.
        for key in ("legal_reference", "two_person_approval"):
            if key in entries:
                raise NodeProblem(
                    entries[key][0],
                    f"{key!r} applies only to a non-consent basis "
                    f"(set basis: legal-obligation or vital-interest, or remove it)",
                )
    elif reference is None:
        raise NodeProblem(
            entries["basis"][1],
            f"basis {basis!r} needs 'legal_reference' naming the law that allows the release "
            f'(e.g. "UU 24/2007 tentang Penanggulangan Bencana, Pasal 48")',
        )
    return basis, reference, approval


def parse_basis(node: Node) -> Basis:
    written = text(node, "basis")
    for basis in BASES:
        if basis == written:
            return basis
    raise NodeProblem(node, f"unknown basis {written!r} (expected {', '.join(BASES)})")


def _parse_fields(node: Node) -> MappingProxyType[str, FieldRule]:
    if is_null(node) or (isinstance(node, MappingNode) and not node.value):
        raise NodeProblem(node, "'fields' is empty: a rule must release at least one field")
    entries = mapping(node, "'fields' (field name: treatment)", duplicate="field")
    return MappingProxyType(
        {
            name: dataclasses.replace(parse_field(name, value), line=key.start_mark.line + 1)
            for name, (key, value) in entries.items()
        }
    )


def parse_field(name: str, node: Node) -> FieldRule:
    if is_null(node):
        raise NodeProblem(node, f"field {name!r} has no treatment (expected {_TREATMENT_LIST})")
    if isinstance(node, ScalarNode):
        return _parse_plain_treatment(name, node)
    entries = mapping(node, f"the treatment of field {name!r}")
    if len(entries) != 1:
        names = list(entries)
        raise NodeProblem(
            entries[names[1]][0] if names else node,
            f"field {name!r} needs exactly one treatment, got {len(names)} "
            f"({', '.join(names) or 'none'})",
        )
    ((treatment, (key, value)),) = entries.items()
    if treatment == "bucketed":
        return _parse_bucketed(name, value)
    if treatment == "predicate":
        return _parse_predicate(name, value)
    if treatment in ("raw", "masked"):
        raise NodeProblem(
            key, f"treatment {treatment!r} takes no value: write `{name}: {treatment}`"
        )
    raise NodeProblem(key, _unknown_treatment(name, treatment))


def _parse_plain_treatment(name: str, node: ScalarNode) -> FieldRule:
    if node.value == "raw":
        return FieldRule.raw(name)
    if node.value == "masked":
        return FieldRule.masked(name)
    if node.value in ("bucketed", "predicate"):
        raise NodeProblem(
            node, f"treatment {node.value!r} of field {name!r} needs a value, e.g. {_EXAMPLES}"
        )
    raise NodeProblem(node, _unknown_treatment(name, node.value))


def _parse_bucketed(name: str, node: Node) -> FieldRule:
    if not isinstance(node, SequenceNode):
        raise NodeProblem(node, f"'bucketed' of field {name!r} must be a list of edges")
    edges = [scalar(item) for item in node.value]
    try:
        return FieldRule.bucketed(name, edges)
    except TreatmentError as exc:
        raise NodeProblem(
            _item_node(node, exc), f"bad 'bucketed' for field {name!r}: {exc}"
        ) from None


def _parse_predicate(name: str, node: Node) -> FieldRule:
    entries = mapping(node, f"the predicate of field {name!r} (e.g. {{lt: 3000000}})")
    ops = list(entries)
    if len(ops) != 1:
        at = entries[ops[1]][0] if ops else node
        raise NodeProblem(
            at,
            f"predicate of field {name!r} needs exactly one operator, got "
            f"{len(ops)} ({', '.join(ops) or 'none'}); expected one of {', '.join(PREDICATE_OPS)}",
        )
    ((op, (key, value)),) = entries.items()
    if op not in PREDICATE_OPS:
        raise NodeProblem(
            key,
            f"unknown predicate operator {op!r} for field {name!r} "
            f"(expected {', '.join(PREDICATE_OPS)})",
        )
    operand = [scalar(item) for item in value.value] if isinstance(value, SequenceNode) else None
    try:
        return FieldRule.predicate(name, op, scalar(value) if operand is None else operand)
    except TreatmentError as exc:
        raise NodeProblem(
            _item_node(value, exc), f"bad predicate for field {name!r}: {exc}"
        ) from None


_TREATMENT_LIST = ", ".join(TREATMENTS)
_EXAMPLES = "{bucketed: [0, 1000000]} or {predicate: {lt: 3000000}}"


def _unknown_treatment(name: str, treatment: str) -> str:
    return f"unknown treatment {treatment!r} for field {name!r} (expected {_TREATMENT_LIST})"


def _item_node(node: Node, exc: TreatmentError) -> Node:
    if exc.item is not None and isinstance(node, SequenceNode):
        item: Node = node.value[exc.item]
        return item
    return node
