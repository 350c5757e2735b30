"""The Merkle log's hashing follows RFC 9162: roots, audit paths and their checks agree with the definition."""

from __future__ import annotations

import hashlib

import pytest

from engine import merkle


def mth(leaves: list[str]) -> str:
    """RFC 9162 MTH straight from its recursive definition."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    if len(leaves) == 1:
        return leaves[0]
    k = merkle.split(len(leaves))
    return merkle.node_hash(mth(leaves[:k]), mth(leaves[k:]))


def leaves(n: int) -> list[str]:
    return [merkle.leaf_hash(f"event {i}".encode()) for i in range(n)]


def test_leaf_and_node_hashes_are_domain_separated():
    assert merkle.leaf_hash(b"") == hashlib.sha256(b"\x00").hexdigest()
    a, b = leaves(2)
    assert merkle.node_hash(a, b) == hashlib.sha256(b"\x01" + bytes.fromhex(a) + bytes.fromhex(b)).hexdigest()


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 31, 33])
def test_the_frontier_root_is_the_rfc_9162_root_for_any_size(n):
    frontier: list[str] = []
    for i, leaf in enumerate(leaves(n)):
        merkle.push(frontier, i, leaf)
        assert merkle.root(frontier) == mth(leaves(n)[: i + 1])
    assert len(frontier) == bin(n).count("1")


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 7, 8, 11, 17])
def test_every_audit_path_leads_to_the_root_and_no_other_leaf_or_index_does(n):
    all_leaves = leaves(n)
    seen: dict[tuple[int, int], str] = {}
    frontier: list[str] = []
    for i, leaf in enumerate(all_leaves):
        merkle.push(frontier, i, leaf, lambda r, h: seen.__setitem__(r, h))
    for index in range(n):
        path = [seen.get(r) or merkle.range_hash_from_frontier(frontier, n, r)
                for r in merkle.path_ranges(index, n)]
        assert path == [mth(all_leaves[lo:hi]) for lo, hi in merkle.path_ranges(index, n)]
        assert merkle.root_from_path(index, n, all_leaves[index], path) == mth(all_leaves)
        assert merkle.root_from_path(index, n, merkle.leaf_hash(b"forged"), path) != mth(all_leaves)
        if n > 1:
            assert merkle.root_from_path((index + 1) % n, n, all_leaves[index], path) != mth(all_leaves)


@pytest.mark.parametrize("new", [1, 2, 3, 4, 5, 7, 8, 9, 12, 17])
def test_consistency_proofs_hold_for_every_prefix_and_fail_for_another_history(new):
    all_leaves = leaves(new)
    other = [merkle.leaf_hash(b"rewritten")] + all_leaves[1:]
    for old in range(1, new + 1):
        proof = [mth(all_leaves[lo:hi]) for lo, hi in merkle.consistency_ranges(old, new)]
        assert merkle.consistent(old, new, mth(all_leaves[:old]), mth(all_leaves), proof)
        assert not merkle.consistent(old, new, mth(other[:old]), mth(all_leaves), proof)
        if old < new:
            assert not merkle.consistent(old, new, mth(all_leaves[:old]), mth(other), proof)
