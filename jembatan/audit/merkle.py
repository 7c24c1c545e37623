"""RFC 6962 / RFC 9162 Merkle tree maths: hashing, proofs from a list of leaves, verification.

Pure functions, no I/O: the hub, the client SDK and the independent verifier all use them.
Names follow RFC 9162 §2.1: MTH is ``root_of``, PATH is ``inclusion_proof``, PROOF/SUBPROOF is
``consistency_proof``. The list-based proof builders are the plain recursive definitions — the
reference that the storage-backed tree (``hub.audit.tree``) is tested against. Verification is
the iterative algorithm of §2.1.3.2 and §2.1.4.2, split into one-step helpers the way
transparency-dev/merkle and sigstore-python do it, so each step can be read against the RFC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from jembatan.errors import JembatanError

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
# MTH({}) = SHA-256() — the root of the empty tree (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(JembatanError):
    """An inclusion or consistency proof does not prove what it claims; the message says why."""


class RootMismatch(ProofError):
    """The proof is well formed but leads to another root: the log or the proof was changed."""

    def __init__(self, what: str, computed: bytes, expected: bytes) -> None:
        super().__init__(f"{what} mismatch: computed {computed.hex()} expected {expected.hex()}")
        self.computed = computed
        self.expected = expected


# --- hashing (RFC 9162 §2.1.1) -------------------------------------------------------------


def hash_leaf(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the prefix keeps a leaf from passing for an inner node."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already ``hash_leaf``-ed); the empty tree's root is SHA-256("")."""
    if not leaf_hashes:
        return EMPTY_ROOT
    # Level by level, carrying an odd last node up unchanged: the same tree as the RFC's
    # recursive split at the largest power of two (the tree is left-balanced), without
    # recursion and in n - 1 hashes, which matters when a verifier rehashes a million records.
    level = list(leaf_hashes)
    while len(level) > 1:
        parents = [hash_children(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            parents.append(level[-1])
        level = parents
    return level[0]


# --- proofs from a full list of leaf hashes (RFC 9162 §2.1.3.1, §2.1.4.1) -----------------


def inclusion_proof(index: int, size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(index, D[0:size]): the audit path of leaf ``index``, bottom level first."""
    if not 0 <= index < size <= len(leaf_hashes):
        raise ValueError(f"no leaf {index} in a tree of size {size} ({len(leaf_hashes)} leaves)")
    return _path(index, leaf_hashes[:size])


def consistency_proof(old_size: int, new_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]); empty when either tree is trivially consistent."""
    if not 0 <= old_size <= new_size <= len(leaf_hashes):
        raise ValueError(
            f"no consistency from {old_size} to {new_size} ({len(leaf_hashes)} leaves)"
        )
    if old_size in (0, new_size):
        return []
    return _subproof(old_size, leaf_hashes[:new_size], True)


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _split(len(d))
    if m < k:
        return [*_path(m, d[:k]), root_of(d[k:])]
    return [*_path(m - k, d[k:]), root_of(d[:k])]


def _subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    # b: whether D[0:m] is the whole old tree, whose root the verifier already holds.
    if m == len(d):
        return [] if b else [root_of(d)]
    k = _split(len(d))
    if m <= k:
        return [*_subproof(m, d[:k], b), root_of(d[k:])]
    return [*_subproof(m - k, d[k:], False), root_of(d[:k])]


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- verification (RFC 9162 §2.1.3.2, §2.1.4.2) -------------------------------------------


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Return if ``proof`` shows leaf ``index`` with ``leaf_hash`` is in the tree ``root``.

    Raises ProofError otherwise. The size is bound to the root by the signed checkpoint, not
    by the proof: check the checkpoint before trusting (size, root).
    """
    _check_hash("leaf hash", leaf_hash)
    _check_hash("root", root)
    _check_proof_hashes(proof)
    if index < 0 or size < 0:
        raise ProofError(f"negative index {index} or size {size}")
    if index >= size:
        raise ProofError(f"index {index} beyond tree size {size}")
    inner, border = _decomp_inclusion_proof(index, size)
    _check_proof_length(proof, inner + border)
    computed = _chain_border_right(_chain_inner(leaf_hash, proof[:inner], index), proof[inner:])
    _check_root("root", computed, root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Return if ``proof`` shows the tree ``new_root`` extends the tree ``old_root``.

    Raises ProofError otherwise: a fork, a rewritten or truncated log, or a bad proof.
    """
    _check_hash("old root", old_root)
    _check_hash("new root", new_root)
    _check_proof_hashes(proof)
    if old_size < 0 or new_size < 0:
        raise ProofError(f"negative size {old_size} or {new_size}")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} beyond new size {new_size}")
    if old_size == 0:
        # Every tree extends the empty one; the empty tree has one root only.
        _check_proof_length(proof, 0)
        _check_root("old root", old_root, EMPTY_ROOT)
        if new_size == 0:
            _check_root("new root", new_root, EMPTY_ROOT)
        return
    if old_size == new_size:
        _check_proof_length(proof, 0)
        _check_root("root", new_root, old_root)
        return
    if not proof:
        raise ProofError(f"empty proof from size {old_size} to {new_size}")

    # The proof is an inclusion proof, in the new tree, of the biggest complete subtree that
    # ends where the old tree ends: node (shift, (old_size - 1) >> shift).
    inner, border = _decomp_inclusion_proof(old_size - 1, new_size)
    shift = _trailing_zeros(old_size)
    inner -= shift
    # RFC 9162 step 2: when the old tree is itself that complete subtree, its root is not sent
    # (the verifier has it); otherwise the proof starts with that subtree's hash.
    if old_size == 1 << shift:
        seed, path = old_root, proof
    else:
        seed, path = proof[0], proof[1:]
    _check_proof_length(path, inner + border, extra=len(proof) - len(path))
    index = (old_size - 1) >> shift
    # The old root uses only the left siblings (the old tree ends at the seed); the new root
    # uses every sibling. Both then climb the same right border.
    old = _chain_border_right(_chain_inner_right(seed, path[:inner], index), path[inner:])
    _check_root("old root", old, old_root)
    new = _chain_border_right(_chain_inner(seed, path[:inner], index), path[inner:])
    _check_root("new root", new, new_root)


def _decomp_inclusion_proof(index: int, size: int) -> tuple[int, int]:
    """Split the proof of leaf ``index`` in a tree of ``size`` into (inner, border) lengths.

    Inner: levels below the point where the paths to ``index`` and to the last leaf
    ``size - 1`` meet, each with a sibling. Border: above it, the path runs along the right
    border, where only the levels with a left sibling (the 1-bits) contribute a hash.
    """
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, hashes: Sequence[bytes], index: int) -> bytes:
    """Climb the inner levels: bit i of ``index`` says whether the sibling is left or right."""
    for i, h in enumerate(hashes):
        seed = hash_children(h, seed) if (index >> i) & 1 else hash_children(seed, h)
    return seed


def _chain_inner_right(seed: bytes, hashes: Sequence[bytes], index: int) -> bytes:
    """As _chain_inner, using only the left siblings: the old tree has nothing to the right."""
    for i, h in enumerate(hashes):
        if (index >> i) & 1:
            seed = hash_children(h, seed)
    return seed


def _chain_border_right(seed: bytes, hashes: Sequence[bytes]) -> bytes:
    """Climb the right border: every hash left there is a left sibling."""
    for h in hashes:
        seed = hash_children(h, seed)
    return seed


def _trailing_zeros(n: int) -> int:
    return (n & -n).bit_length() - 1


def _check_hash(what: str, h: bytes) -> None:
    if len(h) != HASH_SIZE:
        raise ProofError(f"{what} is {len(h)} bytes, not {HASH_SIZE}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        _check_hash(f"proof hash {i}", h)


def _check_proof_length(proof: Sequence[bytes], want: int, *, extra: int = 0) -> None:
    # ``extra`` counts hashes before ``proof`` (the consistency proof's subtree hash), so the
    # message talks about the proof as sent.
    got = len(proof)
    if got > want:
        raise ProofError(f"proof has extra hashes: {got + extra} sent, {want + extra} expected")
    if got < want:
        raise ProofError(f"proof is missing hashes: {got + extra} sent, {want + extra} expected")


def _check_root(what: str, computed: bytes, expected: bytes) -> None:
    if computed != expected:
        raise RootMismatch(what, computed, expected)
