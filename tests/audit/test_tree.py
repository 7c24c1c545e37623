"""The persisted tree: nodes written batch by batch give the list functions' roots and proofs."""

from __future__ import annotations

import math
import random
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.audit import tree
from hub.audit.tree import MemoryNodes, MissingNode, Node, new_nodes
from hub.store.sql import NodeTable
from hub.store.sqlite import SqliteDatabase
from jembatan.audit import merkle
from jembatan.audit.merkle import hash_leaf, root_of, verify_consistency, verify_inclusion

h = bytes.fromhex

# Every complete subtree of the 8-leaf certificate-transparency test tree, by level then
# index: transparency-dev/merkle testonly/constants.go NodeHashes().
CT_NODE_HASHES = [
    [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7"),
        h("07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"),
    ],
    [
        h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
    ],
    [
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ],
    [h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")],
]
CT_LEAVES = [
    h(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]


def leaf_hashes(n: int) -> list[bytes]:
    return [hash_leaf(f"record {i}".encode()) for i in range(n)]


def sqlite_nodes() -> NodeTable:
    """The hub's own node table, on a SQLite file of its own."""
    return NodeTable(SqliteDatabase(Path(tempfile.mkdtemp()) / "hub.db"))


class Store:
    """Appends like the sequencer: one transaction per batch when the store is SQLite."""

    def __init__(self, nodes: MemoryNodes | NodeTable, db: SqliteDatabase | None) -> None:
        self.nodes = nodes
        self.db = db
        self.size = 0

    def append(self, batch: list[bytes]) -> None:
        made = new_nodes(self.size, batch, self.nodes.node)
        if self.db is not None:
            with self.db.transaction():
                self.nodes.put(made)
        else:
            self.nodes.put(made)
        self.size += len(batch)


def stores() -> Iterator[Store]:
    yield Store(MemoryNodes(), None)
    with tempfile.TemporaryDirectory() as directory:
        db = SqliteDatabase(Path(directory) / "hub.db")
        try:
            yield Store(NodeTable(db), db)
        finally:
            db.close()


def append_in_batches(store: Store, hashes: list[bytes], cuts: list[int]) -> None:
    # ``cuts`` are batch sizes; the remainder is a last batch.
    i = 0
    for cut in cuts:
        if i >= len(hashes):
            break
        store.append(hashes[i : i + cut])
        i += cut
    if i < len(hashes):
        store.append(hashes[i:])


class CountingReader:
    def __init__(self, inner: tree.NodeReader) -> None:
        self.inner = inner
        self.reads = 0

    def node(self, level: int, index: int) -> bytes:
        self.reads += 1
        return self.inner.node(level, index)


# --- the published tree ---------------------------------------------------------------------


def test_appending_the_ct_leaves_stores_exactly_the_published_complete_nodes() -> None:
    nodes = MemoryNodes()
    hashes = [hash_leaf(leaf) for leaf in CT_LEAVES]
    size = 0
    for batch in ([hashes[0]], hashes[1:4], hashes[4:7], [hashes[7]]):
        nodes.put(new_nodes(size, batch, nodes.node))
        size += len(batch)
    assert len(nodes) == sum(len(level) for level in CT_NODE_HASHES)
    for level, hashes_at_level in enumerate(CT_NODE_HASHES):
        for index, expected in enumerate(hashes_at_level):
            assert nodes.node(level, index) == expected


# --- every size and every proof of small trees, both stores ---------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_every_root_and_proof_of_small_trees_matches_the_list_functions(seed: int) -> None:
    rng = random.Random(seed)
    n = 40
    hashes = leaf_hashes(n)
    for store in stores():
        append_in_batches(store, hashes, [rng.randint(1, 9) for _ in range(n)])
        for size in range(n + 1):
            assert tree.root(size, store.nodes) == root_of(hashes[:size])
            for index in range(size):
                assert tree.inclusion_proof(index, size, store.nodes) == merkle.inclusion_proof(
                    index, size, hashes
                )
            for old in range(size + 1):
                assert tree.consistency_proof(old, size, store.nodes) == merkle.consistency_proof(
                    old, size, hashes
                )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 300),
    cuts=st.lists(st.integers(1, 70), max_size=300),
    rng=st.randoms(use_true_random=False),
)
def test_batches_of_random_sizes_give_the_list_functions_roots_and_proofs(
    n: int, cuts: list[int], rng: random.Random
) -> None:
    hashes = leaf_hashes(n)
    roots = [root_of(hashes[:size]) for size in range(n + 1)]
    for store in stores():
        append_in_batches(store, hashes, cuts)
        assert store.size == n
        for size in range(1, n + 1):
            assert tree.root(size, store.nodes) == roots[size]
            # One random proof of each kind per size keeps this test quick; the exhaustive
            # test above covers every pair on small trees.
            index = rng.randrange(size)
            proof = tree.inclusion_proof(index, size, store.nodes)
            assert proof == merkle.inclusion_proof(index, size, hashes)
            verify_inclusion(index, size, hashes[index], proof, roots[size])
            old = rng.randint(0, size)
            proof = tree.consistency_proof(old, size, store.nodes)
            assert proof == merkle.consistency_proof(old, size, hashes)
            verify_consistency(old, size, roots[old], roots[size], proof)


# --- costs: what appending and proving read ---------------------------------------------------


def border(size: int) -> set[tuple[int, int]]:
    """The complete nodes a tree of ``size`` is made of (one per 1-bit)."""
    out, begin = set(), 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            out.add((level, begin >> level))
            begin += 1 << level
    return out


@settings(max_examples=50, deadline=None)
@given(before=st.integers(0, 5000), batch=st.integers(1, 300))
def test_appending_reads_only_the_old_right_border(before: int, batch: int) -> None:
    hashes = leaf_hashes(before + batch)
    nodes = MemoryNodes()
    nodes.put(new_nodes(0, hashes[:before], nodes.node))
    asked: list[tuple[int, int]] = []

    def node_at(level: int, index: int) -> bytes:
        asked.append((level, index))
        return nodes.node(level, index)

    made = new_nodes(before, hashes[before:], node_at)
    assert len(asked) == len(set(asked))
    assert set(asked) <= border(before)
    # A tree of n leaves has 2n - popcount(n) complete nodes: amortised under two per leaf.
    total = before + batch
    assert len(nodes) + len(made) == 2 * total - total.bit_count()


@pytest.fixture(scope="module")
def big_tree() -> MemoryNodes:
    nodes = MemoryNodes()
    nodes.put(new_nodes(0, leaf_hashes(5000), nodes.node))
    return nodes


def test_roots_and_proofs_read_logarithmically_many_nodes(big_tree: MemoryNodes) -> None:
    nodes = big_tree
    rng = random.Random(4)
    sizes = [*range(1, 70), 1023, 1024, 1025, 4095, 4096, 4097, 5000]
    sizes += [rng.randint(1, 5000) for _ in range(200)]
    for size in sizes:
        bound = 2 * math.ceil(math.log2(size)) + 2
        reader = CountingReader(nodes)
        tree.root(size, reader)
        assert reader.reads <= size.bit_count() <= bound
        for index in {0, size - 1, size // 2, rng.randrange(size)}:
            reader = CountingReader(nodes)
            tree.inclusion_proof(index, size, reader)
            assert reader.reads <= bound, (index, size, reader.reads)
        for old in {1, size - 1, size // 2, rng.randint(1, size)}:
            reader = CountingReader(nodes)
            tree.consistency_proof(old, size, reader)
            assert reader.reads <= bound + 1, (old, size, reader.reads)


# --- storage behaviour ------------------------------------------------------------------------


@pytest.mark.parametrize("make", [MemoryNodes, sqlite_nodes])
def test_a_tree_larger_than_storage_is_a_missing_node(make: type) -> None:
    nodes = make()
    nodes.put(new_nodes(0, leaf_hashes(8), nodes.node))
    tree.root(8, nodes)
    with pytest.raises(MissingNode, match=r"node \(level 0, index 8\) is missing"):
        tree.root(9, nodes)
    with pytest.raises(MissingNode):
        tree.inclusion_proof(0, 9, nodes)


def test_nodes_are_written_once() -> None:
    made: list[Node] = new_nodes(0, leaf_hashes(2), MemoryNodes().node)
    memory = MemoryNodes()
    memory.put(made)
    with pytest.raises(ValueError, match="already stored"):
        memory.put(made[:1])
    db = sqlite_nodes()
    db.put(made)
    with pytest.raises(sqlite3.IntegrityError):
        db.put(made[:1])


def test_sqlite_nodes_live_in_the_callers_transaction(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "hub.db")
    nodes = NodeTable(db)

    class RolledBack(Exception):
        pass

    with pytest.raises(RolledBack), db.transaction():
        nodes.put(new_nodes(0, leaf_hashes(4), nodes.node))
        raise RolledBack
    with pytest.raises(MissingNode):
        nodes.node(0, 0)
    with db.transaction():
        nodes.put(new_nodes(0, leaf_hashes(4), nodes.node))
    assert tree.root(4, nodes) == root_of(leaf_hashes(4))


def test_empty_tree_and_bad_requests() -> None:
    nodes = MemoryNodes()
    assert tree.root(0, nodes) == merkle.EMPTY_ROOT
    assert tree.consistency_proof(0, 0, nodes) == []
    nodes.put(new_nodes(0, leaf_hashes(3), nodes.node))
    assert tree.consistency_proof(0, 3, nodes) == []
    assert tree.consistency_proof(3, 3, nodes) == []
    with pytest.raises(ValueError):
        tree.root(-1, nodes)
    with pytest.raises(ValueError):
        tree.inclusion_proof(3, 3, nodes)
    with pytest.raises(ValueError):
        tree.consistency_proof(3, 2, nodes)
