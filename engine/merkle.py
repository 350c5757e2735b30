"""Merkle tree hashing as in RFC 9162 (Certificate Transparency 2.0), with nothing of the database.

leaf = SHA-256(0x00 || leaf data), node = SHA-256(0x01 || left || right); a tree of n leaves
splits at the largest power of two below n. A tree is built leaf by leaf in a *frontier*: the
roots of its perfect subtrees, largest first (one per set bit of the size), so appending costs
O(log n) and the root is the right-to-left fold of the frontier. Hashes are hex strings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
Range = tuple[int, int]  # [lo, hi) leaf indexes


def leaf_hash(data: bytes) -> str:
    return hashlib.sha256(b"\x00" + data).hexdigest()


def node_hash(left: str, right: str) -> str:
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()


def split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def frontier_ranges(size: int) -> list[Range]:
    """The leaf ranges of the frontier's subtrees for a tree of ``size`` leaves, largest first."""
    ranges, lo = [], 0
    for bit in reversed(range(size.bit_length())):
        if size >> bit & 1:
            ranges.append((lo, lo + (1 << bit)))
            lo += 1 << bit
    return ranges


def push(frontier: list[str], size: int, leaf: str, seen: Callable[[Range, str], None] | None = None) -> None:
    """Append ``leaf`` (index ``size``) to ``frontier`` in place; ``seen`` gets every subtree completed."""
    frontier.append(leaf)
    hi, width, n = size + 1, 1, size
    if seen is not None:
        seen((size, hi), leaf)
    while n & 1:
        right = frontier.pop()
        frontier[-1] = node_hash(frontier[-1], right)
        n >>= 1
        width <<= 1
        if seen is not None:
            seen((hi - width, hi), frontier[-1])


def root(frontier: Iterable[str]) -> str:
    """The tree's root from its frontier (largest subtree first)."""
    result: str | None = None
    for h in reversed(list(frontier)):
        result = h if result is None else node_hash(h, result)
    return EMPTY_ROOT if result is None else result


def path_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose subtree hashes form leaf ``index``'s audit path in a tree of ``size`` (leaf first)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    ranges: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo = lo + k
    return list(reversed(ranges))


def range_hash_from_frontier(frontier: list[str], size: int, wanted: Range) -> str:
    """The hash of a right-edge range ``[lo, size)``: the fold of the frontier subtrees it covers."""
    parts = [h for (lo, _), h in zip(frontier_ranges(size), frontier, strict=True) if lo >= wanted[0]]
    return root(parts)


def root_from_path(index: int, size: int, leaf: str, path: list[str]) -> str | None:
    """RFC 9162 section 2.1.3.2: the root ``path`` leads to from ``leaf``, or None when it cannot fit."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def consistency_ranges(old: int, new: int) -> list[Range]:
    """RFC 9162 section 2.1.4.1: the ranges whose hashes prove a tree of ``old`` leaves is a prefix of ``new``."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to {new}")

    def sub(m: int, lo: int, hi: int, whole: bool) -> list[Range]:
        if m == hi - lo:
            return [] if whole else [(lo, hi)]
        k = split(hi - lo)
        if m <= k:
            return sub(m, lo, lo + k, whole) + [(lo + k, hi)]
        return sub(m - k, lo + k, hi, False) + [(lo, lo + k)]

    return sub(old, 0, new, True)


def consistent(old: int, new: int, old_root: str, new_root: str, proof: list[str]) -> bool:
    """RFC 9162 section 2.1.4.2: whether ``proof`` shows the tree (old, old_root) is a prefix of (new, new_root)."""
    if not 0 < old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old & (old - 1) == 0:
        proof = [old_root, *proof]
    if not proof:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
