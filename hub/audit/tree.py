"""The audit log's Merkle tree, persisted as its complete subtrees.

Node (level, index) is the hash of the perfect subtree over leaves
[index·2^level, (index+1)·2^level); level 0 holds the leaf hashes. A complete node never
changes once its last leaf is appended, so the log stores each one exactly once and never
rewrites it. A tree of any size n is the fold of at most log2(n) + 1 complete nodes (one per
1-bit of n), which is how roots and proofs for any past size come from O(log n) node reads
without rebuilding anything — the layout of transparency-dev/merkle's ``compact`` ranges and
Trillian's node storage.

The proof code depends on a one-method ``NodeReader``, so it is tested without a database;
the sequencer calls ``new_nodes`` and writes the result in the same transaction as its batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from jembatan.audit.merkle import EMPTY_ROOT, hash_children
from jembatan.errors import JembatanError

Node = tuple[int, int, bytes]
"""(level, index, hash) of one complete subtree."""


class MissingNode(JembatanError):
    """A node that the tree's size says exists is not in storage: truncated or tampered."""

    def __init__(self, level: int, index: int) -> None:
        super().__init__(f"tree node (level {level}, index {index}) is missing from storage")
        self.level = level
        self.index = index


class NodeReader(Protocol):
    def node(self, level: int, index: int) -> bytes:
        """The hash of complete node (level, index); raises MissingNode if absent."""
        ...


# --- appending -----------------------------------------------------------------------------


def new_nodes(
    size_before: int,
    new_leaf_hashes: Sequence[bytes],
    node_at: Callable[[int, int], bytes],
) -> list[Node]:
    """The complete nodes that appending ``new_leaf_hashes`` to a tree of ``size_before`` makes.

    Each leaf is a level-0 node; whenever a node is a right child (odd index) its parent is
    complete too. Amortised one parent per leaf. ``node_at`` is asked only for left siblings
    that existed before this batch: the complete nodes on the old tree's right border, at most
    one per level.
    """
    made: list[Node] = []
    # Left children from this batch still waiting for their right sibling (at most one per
    # level), so only the old border is ever read back.
    waiting: dict[tuple[int, int], bytes] = {}
    for offset, h in enumerate(new_leaf_hashes):
        level, index = 0, size_before + offset
        made.append((level, index, h))
        while index & 1:
            left = waiting.pop((level, index - 1), None)
            if left is None:
                left = node_at(level, index - 1)
            h = hash_children(left, h)
            level, index = level + 1, index >> 1
            made.append((level, index, h))
        waiting[(level, index)] = h
    return made


# --- reading: roots and proofs for any size up to the stored one ---------------------------


def root(size: int, reader: NodeReader) -> bytes:
    """MTH of the first ``size`` leaves, from at most log2(size) + 1 node reads."""
    if size < 0:
        raise ValueError(f"negative tree size {size}")
    if size == 0:
        return EMPTY_ROOT
    return _range_hash(0, size, reader)


def inclusion_proof(index: int, size: int, reader: NodeReader) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, bottom level first."""
    if not 0 <= index < size:
        raise ValueError(f"no leaf {index} in a tree of size {size}")
    return _path(0, index, size, reader)


def consistency_proof(old_size: int, new_size: int, reader: NodeReader) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 §2.1.4.1."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    # The biggest complete node that ends where the old tree ends; the proof is its
    # inclusion path in the new tree, preceded by the node itself unless it is the whole
    # old tree (the verifier already has that root).
    level = _trailing_zeros(old_size)
    index = (old_size - 1) >> level
    path = _path(level, index, new_size, reader)
    if index == 0:
        return path
    return [reader.node(level, index), *path]


def _path(level: int, index: int, size: int, reader: NodeReader) -> list[bytes]:
    """Sibling hashes from node (level, index) up to the root of the tree of ``size``."""
    proof: list[bytes] = []
    last = (size - 1) >> level  # index of the rightmost node on this level
    while last > 0:
        sibling = index ^ 1
        if sibling < last:
            proof.append(reader.node(level, sibling))
        elif sibling == last:
            # The rightmost node may be incomplete (it does not exist in storage): fold the
            # complete nodes it is made of. This happens at most once per path.
            proof.append(_range_hash(sibling << level, size, reader))
        # else: no sibling — this node is the right border's lone child, promoted unchanged.
        level, index, last = level + 1, index >> 1, last >> 1
    return proof


def _range_hash(begin: int, end: int, reader: NodeReader) -> bytes:
    """MTH of leaves [begin, end), where ``begin`` is aligned to a node covering the range.

    The range is split into complete nodes, largest first (one per 1-bit of its length), and
    folded from the right, as the left-balanced tree nests them.
    """
    nodes: list[bytes] = []
    remaining = end - begin
    while remaining:
        level = remaining.bit_length() - 1
        nodes.append(reader.node(level, begin >> level))
        begin += 1 << level
        remaining -= 1 << level
    h = nodes.pop()
    while nodes:
        h = hash_children(nodes.pop(), h)
    return h


def _trailing_zeros(n: int) -> int:
    return (n & -n).bit_length() - 1


# --- storage -------------------------------------------------------------------------------


class MemoryNodes:
    """Nodes in a dict: a NodeReader and writer for tests and short-lived trees."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def put(self, nodes: Iterable[Node]) -> None:
        for level, index, h in nodes:
            if (level, index) in self._nodes:
                raise ValueError(f"node (level {level}, index {index}) is already stored")
            self._nodes[(level, index)] = h

    def node(self, level: int, index: int) -> bytes:
        try:
            return self._nodes[(level, index)]
        except KeyError:
            raise MissingNode(level, index) from None


class CachedNodes:
    """A NodeReader that remembers what it has read: for proving many neighbouring leaves,
    whose paths share all but their lowest nodes. Complete nodes never change, so nothing
    cached can go stale; it lives as long as one batch of proofs."""

    def __init__(self, reader: NodeReader, limit: int = 65536) -> None:
        self._reader = reader
        self._limit = limit
        self._nodes: dict[tuple[int, int], bytes] = {}

    def node(self, level: int, index: int) -> bytes:
        key = (level, index)
        h = self._nodes.get(key)
        if h is None:
            h = self._reader.node(level, index)
            if len(self._nodes) >= self._limit:
                self._nodes.clear()
            self._nodes[key] = h
        return h
