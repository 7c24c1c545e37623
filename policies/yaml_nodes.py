"""Typed values out of YAML nodes, each failure a ``NodeProblem`` that knows its line.

The policy files and their test cases are read as node trees (not plain ``yaml.safe_load``),
so that every problem can be reported as ``file:line: problem`` and scalars are taken as
written (YAML 1.1 would turn ``on`` into a flag and ``2024`` into a number).
"""

from __future__ import annotations

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from jembatan.errors import JembatanError

_NULL_TAG = "tag:yaml.org,2002:null"


class NodeProblem(JembatanError):
    """A problem at a node (``None``: the whole file); the file-level code adds the path."""

    def __init__(self, node: Node | None, problem: str) -> None:
        super().__init__(problem)
        self.line = 1 if node is None else node.start_mark.line + 1
        self.problem = problem


def flag(node: Node, what: str) -> bool:
    value = scalar(node)
    if not isinstance(value, bool):
        raise NodeProblem(node, f"{what} must be true or false, got {shape(node)}")
    return value


def mapping(node: Node, what: str, duplicate: str = "key") -> dict[str, tuple[Node, Node]]:
    """A mapping node's entries by key text; refuses non-mappings and duplicate keys."""
    if not isinstance(node, MappingNode):
        raise NodeProblem(node, f"expected {what} to be a mapping, got {shape(node)}")
    entries: dict[str, tuple[Node, Node]] = {}
    for key, value in node.value:
        name = text(key, duplicate)
        if name in entries:
            first_line = entries[name][0].start_mark.line + 1
            raise NodeProblem(key, f"duplicate {duplicate} {name!r} (first at line {first_line})")
        entries[name] = (key, value)
    return entries


def require_keys(
    entries: dict[str, tuple[Node, Node]],
    node: Node,
    keys: tuple[str, ...],
    *,
    where: str,
    optional: tuple[str, ...] = (),
) -> None:
    for name, (key, _value) in entries.items():
        if name not in keys and name not in optional:
            expected = ", ".join(keys) + (f"; optional: {', '.join(optional)}" if optional else "")
            raise NodeProblem(key, f"unknown key {name!r} in {where} (expected {expected})")
    missing = [name for name in keys if name not in entries]
    if missing:
        raise NodeProblem(node, f"{where} is missing key {missing[0]!r}")


def document_items(root: Node | None, key: str, what: str) -> list[Node]:
    """The items of a ``what`` (a file's document): a mapping whose one key ``key`` holds a
    non-empty list."""
    if root is None:
        raise NodeProblem(None, f"empty {what} (expected a mapping with key {key!r})")
    top = mapping(root, f"a {what}")
    require_keys(top, root, (key,), where=what)
    node = top[key][1]
    if not isinstance(node, SequenceNode) or not node.value:
        raise NodeProblem(node, f"{key!r} must be a non-empty list, got {shape(node)}")
    return list(node.value)


def text(node: Node, what: str) -> str:
    # Take the scalar as written, so `purpose: 2024` or a field named `on` stays text instead of
    # YAML 1.1 turning it into a number or a flag.
    if not isinstance(node, ScalarNode):
        raise NodeProblem(node, f"{what} must be text, got {shape(node)}")
    if is_null(node) or not node.value.strip():
        raise NodeProblem(node, f"{what} is empty")
    return str(node.value)


def scalar(node: Node) -> object:
    """A policy parameter as a Python value (int, float, bool, str, date, None)."""
    if not isinstance(node, ScalarNode):
        raise NodeProblem(node, f"expected a single value, got {shape(node)}")
    try:
        return yaml.SafeLoader("").construct_object(node)
    except yaml.constructor.ConstructorError as exc:
        raise NodeProblem(node, f"unsupported value {node.value!r}: {exc.problem}") from None
    except ValueError as exc:  # e.g. 2024-02-30 resolves as a date and fails to construct
        raise NodeProblem(node, f"invalid value {node.value!r}: {exc}") from None


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def shape(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if is_null(node):
        return "nothing"
    return f"{node.value!r}"
