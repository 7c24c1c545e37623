"""RFC 6962 / RFC 9162 tree maths against published vectors and a second, naive implementation.

Vectors: the certificate-transparency test tree of 8 leaves, as published in
transparency-dev/merkle (``testonly/constants.go`` for leaves and roots, ``proof/verify_test.go``
for proofs, whose inclusion vectors number leaves from 1) and, before it, google/certificate-
transparency's ``merkle_tree_test.cc``. The corrupted-proof probes follow ``verify_test.go`` too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jembatan.audit import merkle
from jembatan.audit.merkle import (
    EMPTY_ROOT,
    ProofError,
    RootMismatch,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_proof,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from jembatan.errors import JembatanError

h = bytes.fromhex

LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]
# ROOTS[n] is the root of the tree of the first n leaves.
ROOTS = [
    h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
# (index, size, proof); index 0-based (the Go vectors say leaf 1, 6, 3, 2).
INCLUSION_VECTORS = [
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (0, 1, []),
]
# (old size, new size, proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")
LEAF_HASHES = [hash_leaf(leaf) for leaf in LEAVES]


# --- a second implementation, straight from the text of RFC 6962 §2.1 ----------------------
# Deliberately naive: raw leaf data, recursion everywhere, hashlib directly, nothing shared
# with hub.audit.merkle.


def naive_mth(d: Sequence[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = naive_k(n)
    return hashlib.sha256(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:])).digest()


def naive_k(n: int) -> int:
    # "the largest power of two smaller than n (i.e., k < n <= 2k)"
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = naive_k(n)
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return naive_subproof(m, d, True)


def naive_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [naive_mth(d)]
    k = naive_k(n)
    if m <= k:
        return [*naive_subproof(m, d[:k], b), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def flip_in(proof: Sequence[bytes], i: int, bit: int) -> list[bytes]:
    """``proof`` with one bit of its ``i``-th hash flipped."""
    return [*proof[:i], flip(proof[i], bit), *proof[i + 1 :]]


def refused_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    try:
        verify_inclusion(index, size, leaf_hash, proof, root)
    except ProofError:
        return True
    return False


def refused_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    try:
        verify_consistency(old, new, old_root, new_root, proof)
    except ProofError:
        return True
    return False


# --- published vectors ------------------------------------------------------------------------


@pytest.mark.parametrize("size", range(9))
def test_root_of_matches_published_roots(size: int) -> None:
    assert root_of(LEAF_HASHES[:size]) == ROOTS[size]
    assert naive_mth(LEAVES[:size]) == ROOTS[size]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()


def test_domain_separation_prefixes() -> None:
    assert hash_leaf(b"x") == hashlib.sha256(b"\x00x").digest()
    assert hash_children(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


def test_hash_leaf_agrees_with_the_record_module() -> None:
    from jembatan.audit.record import leaf_hash

    assert hash_leaf(b'{"a":1}') == leaf_hash(b'{"a":1}')


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_vectors(index: int, size: int, proof: list[bytes]) -> None:
    assert inclusion_proof(index, size, LEAF_HASHES) == proof
    verify_inclusion(index, size, LEAF_HASHES[index], proof, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_consistency_vectors(old: int, new: int, proof: list[bytes]) -> None:
    assert consistency_proof(old, new, LEAF_HASHES) == proof
    verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in INCLUSION_VECTORS if v[2]])
def test_corrupted_inclusion_vectors_are_refused(index: int, size: int, proof: list[bytes]) -> None:
    root, leaf = ROOTS[size], LEAF_HASHES[index]
    probes = [
        (index - 1, size, leaf, proof, root),
        (index + 1, size, leaf, proof, root),
        (index ^ 2, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size // 2, leaf, proof, root),
        (index, size, hash_leaf(b"WrongLeaf"), proof, root),
        (index, size, leaf, proof, EMPTY_ROOT),
        (index, size, leaf, proof, SOME_HASH),
        (index, size, leaf, [*proof, b""], root),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [b"", *proof], root),
        (index, size, leaf, [root, *proof], root),
        (index, size, leaf, proof[:-1], root),
        *((index, size, leaf, flip_in(proof, i, 3), root) for i in range(len(proof))),
    ]
    if len(proof) > 1:
        probes.append((index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root))
    accepted = [p for p in probes if not refused_inclusion(*p)]
    assert accepted == []


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY_VECTORS if v[2]])
def test_corrupted_consistency_vectors_are_refused(old: int, new: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[old], ROOTS[new]
    wrong = hash_leaf(b"WrongRoot")
    probes = [
        (old - 1, new, r1, r2, proof),
        (old + 1, new, r1, r2, proof),
        (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof),
        (old, new // 2, r1, r2, proof),
        (old, new, wrong, r2, proof),
        (old, new, r1, wrong, proof),
        (old, new, r2, r1, proof),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*proof, b""]),
        (old, new, r1, r2, [*proof, r1]),
        (old, new, r1, r2, [*proof, r2]),
        (old, new, r1, r2, [b"", *proof]),
        (old, new, r1, r2, [r1, *proof]),
        (old, new, r1, r2, [r2, *proof]),
        (old, new, r1, r2, [proof[0], *proof]),
        (old, new, r1, r2, proof[:-1]),
        *((old, new, r1, r2, flip_in(proof, i, 4)) for i in range(len(proof))),
    ]
    accepted = [p for p in probes if not refused_consistency(*p)]
    assert accepted == []


# --- what the errors say --------------------------------------------------------------------


def test_proof_error_is_a_jembatan_error_and_a_root_mismatch_names_both_roots() -> None:
    with pytest.raises(RootMismatch) as caught:
        verify_inclusion(0, 8, LEAF_HASHES[0], INCLUSION_VECTORS[0][2], SOME_HASH)
    assert isinstance(caught.value, JembatanError)
    assert (
        str(caught.value) == f"root mismatch: computed {ROOTS[8].hex()} expected {SOME_HASH.hex()}"
    )
    assert caught.value.computed == ROOTS[8]
    assert caught.value.expected == SOME_HASH


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((8, 8, LEAF_HASHES[0], [], ROOTS[8]), "index 8 beyond tree size 8"),
        ((0, 0, LEAF_HASHES[0], [], ROOTS[0]), "index 0 beyond tree size 0"),
        ((-1, 8, LEAF_HASHES[0], [], ROOTS[8]), "negative index -1"),
        (
            (0, 1, LEAF_HASHES[0], [SOME_HASH], ROOTS[1]),
            "proof has extra hashes: 1 sent, 0 expected",
        ),
        (
            (0, 8, LEAF_HASHES[0], [SOME_HASH], ROOTS[8]),
            "proof is missing hashes: 1 sent, 3 expected",
        ),
        ((0, 1, b"short", [], ROOTS[1]), "leaf hash is 5 bytes, not 32"),
        ((0, 1, LEAF_HASHES[0], [], b""), "root is 0 bytes, not 32"),
        ((0, 2, LEAF_HASHES[0], [b"x" * 33], ROOTS[2]), "proof hash 0 is 33 bytes, not 32"),
    ],
)
def test_inclusion_refusals_say_what_failed(args: tuple, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        verify_inclusion(*args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((2, 1, ROOTS[2], ROOTS[1], []), "old size 2 beyond new size 1"),
        ((3, 3, ROOTS[3], ROOTS[3], [SOME_HASH]), "proof has extra hashes"),
        ((3, 3, ROOTS[2], ROOTS[3], []), "root mismatch"),
        ((0, 5, ROOTS[0], ROOTS[5], [SOME_HASH]), "proof has extra hashes"),
        ((0, 5, SOME_HASH, ROOTS[5], []), "old root mismatch"),
        ((0, 0, SOME_HASH, SOME_HASH, []), "old root mismatch"),
        ((0, 0, EMPTY_ROOT, SOME_HASH, []), "new root mismatch"),
        ((1, 2, ROOTS[1], ROOTS[2], []), "empty proof from size 1 to 2"),
        ((6, 8, ROOTS[6], SOME_HASH, CONSISTENCY_VECTORS[2][2]), "new root mismatch"),
        ((6, 8, SOME_HASH, ROOTS[8], CONSISTENCY_VECTORS[2][2]), "old root mismatch"),
        (
            (6, 8, ROOTS[6], ROOTS[8], CONSISTENCY_VECTORS[2][2][:2]),
            "proof is missing hashes: 2 sent, 3",
        ),
    ],
)
def test_consistency_refusals_say_what_failed(args: tuple, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        verify_consistency(*args)


def test_trivial_consistency() -> None:
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [])
    verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])


def test_list_builders_refuse_impossible_requests() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(3, 3, LEAF_HASHES)
    with pytest.raises(ValueError):
        inclusion_proof(0, 9, LEAF_HASHES)
    with pytest.raises(ValueError):
        consistency_proof(4, 3, LEAF_HASHES)
    with pytest.raises(ValueError):
        consistency_proof(1, 9, LEAF_HASHES)


# --- against the naive implementation ---------------------------------------------------------


def data_of(n: int) -> tuple[list[bytes], list[bytes]]:
    """``n`` leaves and their hashes; distinct leaves, so no tamper can land on an equal
    leaf by accident."""
    data = [f"record {i}".encode() for i in range(n)]
    return data, [hash_leaf(d) for d in data]


def test_every_proof_of_small_trees_matches_the_naive_rfc_text() -> None:
    for n in range(1, 34):
        data, hashes = data_of(n)
        roots = [naive_mth(data[:size]) for size in range(n + 1)]
        assert root_of(hashes) == roots[n]
        for i in range(n):
            proof = inclusion_proof(i, n, hashes)
            assert proof == naive_path(i, data)
            verify_inclusion(i, n, hashes[i], proof, roots[n])
        for m in range(1, n + 1):
            proof = consistency_proof(m, n, hashes)
            assert proof == naive_proof(m, data)
            verify_consistency(m, n, roots[m], roots[n], proof)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, 300))
    return size, draw(st.integers(0, size - 1))


# How a random test tampers: a bit of a hash, a bit of a number, and which hash of a proof.
TAMPERS = {
    "hash_bit": st.integers(0, 255),
    "number_bit": st.integers(0, 9),
    "which": st.integers(0, 10_000),
}


@settings(max_examples=60, deadline=None)
@given(case=tree_and_index(), **TAMPERS)
def test_random_inclusion_proofs_verify_and_every_single_bit_tamper_is_refused(
    case: tuple[int, int], hash_bit: int, number_bit: int, which: int
) -> None:
    size, index = case
    data, hashes = data_of(size + 1024)  # room for sizes tampered upwards
    root = naive_mth(data[:size])
    proof = inclusion_proof(index, size, hashes)
    assert proof == naive_path(index, data[:size])
    verify_inclusion(index, size, hashes[index], proof, root)

    if proof:
        tampered = flip_in(proof, which % len(proof), hash_bit)
        assert refused_inclusion(index, size, hashes[index], tampered, root)
    assert refused_inclusion(index, size, flip(hashes[index], hash_bit), proof, root)
    assert refused_inclusion(index, size, hashes[index], proof, flip(root, hash_bit))
    assert refused_inclusion(index ^ (1 << number_bit), size, hashes[index], proof, root)
    # The proof does not bind the size by itself (the signed checkpoint binds size and root):
    # what must fail is proving the leaf into the real tree of another size.
    other = size ^ (1 << number_bit)
    assert refused_inclusion(index, other, hashes[index], proof, root_of(hashes[:other]))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(1, 300))
    return draw(st.integers(1, new)), new


@settings(max_examples=60, deadline=None)
@given(sizes=two_sizes(), **TAMPERS)
def test_random_consistency_proofs_verify_and_every_single_bit_tamper_is_refused(
    sizes: tuple[int, int], hash_bit: int, number_bit: int, which: int
) -> None:
    old, new = sizes
    data, hashes = data_of(new + 1024)  # room for sizes tampered upwards
    old_root, new_root = root_of(hashes[:old]), root_of(hashes[:new])
    assert new_root == naive_mth(data[:new])
    proof = consistency_proof(old, new, hashes)
    assert proof == (naive_proof(old, data[:new]) if old < new else [])
    verify_consistency(old, new, old_root, new_root, proof)

    if proof:
        tampered = flip_in(proof, which % len(proof), hash_bit)
        assert refused_consistency(old, new, old_root, new_root, tampered)
    assert refused_consistency(old, new, flip(old_root, hash_bit), new_root, proof)
    assert refused_consistency(old, new, old_root, flip(new_root, hash_bit), proof)
    # As with inclusion, a size is checked together with the real root of that size.
    # (Except size 0: every tree truly extends the empty one.)
    other_old = old ^ (1 << number_bit)
    if other_old:
        assert refused_consistency(other_old, new, root_of(hashes[:other_old]), new_root, proof)
    other_new = new ^ (1 << number_bit)
    assert refused_consistency(old, other_new, old_root, root_of(hashes[:other_new]), proof)


def test_public_names() -> None:
    public = {name for name in vars(merkle) if not name.startswith("_")}
    assert {
        "hash_leaf",
        "hash_children",
        "root_of",
        "inclusion_proof",
        "consistency_proof",
        "verify_inclusion",
        "verify_consistency",
        "ProofError",
        "RootMismatch",
        "EMPTY_ROOT",
    } <= public
