"""Near-duplicate removal: MinHash over word shingles, banded LSH (datasketch).

Linear in the corpus: each document is hashed once and looked up in the LSH index; only
candidates the index returns are compared. Documents are processed in corpus order and only
kept documents enter the index, so the first document of each near-duplicate group is kept.
"""

from __future__ import annotations

import string
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

_PUNCT = str.maketrans({c: " " for c in string.punctuation})
SEED = 1  # fixed: the same corpus always gives the same groups


_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier for combining word hashes
_LSH_WEIGHTS = (0.1, 0.9)  # favour recall: every LSH candidate is verified afterwards


def words_of(text: str) -> list[str]:
    """Lower-cased words, ASCII punctuation dropped (str methods: faster than a regex)."""
    return text.lower().translate(_PUNCT).split()


def shingles(text: str, size: int) -> set[str]:
    """Lower-cased word ``size``-grams (the whole text as one shingle when it is shorter)."""
    words = words_of(text)
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


class _WordCodes(dict[str, int]):
    def __missing__(self, word: str) -> int:
        code = self[word] = zlib.crc32(word.encode())
        return code


class _ShingleHasher:
    """32-bit hashes of word shingles, computed from cached per-word crc32s with numpy.

    Deterministic across processes (crc32, not ``hash()``) and several times faster than
    hashing each shingle's text.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._words = _WordCodes()

    def __call__(self, text: str) -> np.ndarray:
        cache = self._words
        codes = [cache[word] for word in words_of(text)]
        if len(cache) > 2_000_000:  # bound the memory on huge vocabularies
            cache.clear()
        arr = np.asarray(codes or [0], dtype=np.uint64)
        width = min(self.size, len(arr))
        combined = arr[: len(arr) - width + 1].copy()
        for k in range(1, width):
            combined = combined * _MIX + arr[k : len(arr) - width + 1 + k]
        # repeats are harmless: a MinHash keeps minima
        return (combined ^ (combined >> np.uint64(29))) & np.uint64(0xFFFFFFFF)


def _scheme_kwargs() -> dict[str, str]:
    """datasketch >= 2 wants the hashing scheme named when permutations are passed in."""
    import inspect

    from datasketch import MinHash

    return {"scheme": "affine32"} if "scheme" in inspect.signature(MinHash).parameters else {}


@dataclass(frozen=True)
class DedupResult:
    """``duplicates`` maps each removed document's index to the index of the one kept."""

    duplicates: dict[int, int]
    total: int

    def groups(self, ids: list[str]) -> list[dict[str, object]]:
        """Each kept document with the ids removed as its near-duplicates, in corpus order."""
        by_kept: dict[int, list[int]] = {}
        for removed, kept in sorted(self.duplicates.items()):
            by_kept.setdefault(kept, []).append(removed)
        return [
            {"kept": ids[k], "removed": [ids[r] for r in rs]} for k, rs in sorted(by_kept.items())
        ]


class NearDuplicateIndex:
    """Feed documents in order; ``add`` says whether each is a near-duplicate of a kept one."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 128, shingle_size: int = 5):
        from datasketch import MinHash, MinHashLSH

        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.threshold = threshold
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self._kwargs = _scheme_kwargs()
        self._template = MinHash(num_perm=num_perm, seed=SEED, hashfunc=int, **self._kwargs)
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=_LSH_WEIGHTS)
        self._hash = _ShingleHasher(shingle_size)
        self._signatures: dict[int, np.ndarray] = {}

    def _minhash(self, text: str):
        from datasketch import MinHash

        mh = MinHash(
            num_perm=self.num_perm,
            seed=SEED,
            hashfunc=int,
            permutations=self._template.permutations,  # reuse: building them is costly
            **self._kwargs,
        )
        mh.update_batch(self._hash(text).tolist())
        return mh

    def add(self, index: int, text: str) -> int | None:
        """The index of the earliest kept document ``text`` nearly duplicates, or None (kept)."""
        mh = self._minhash(text)
        signature = mh.hashvalues.astype(np.uint32)  # values fit 32 bits; halves the memory
        best: int | None = None
        for key in sorted(self._lsh.query(mh)):
            agreement = float(np.count_nonzero(self._signatures[key] == signature))
            if agreement / self.num_perm >= self.threshold:
                best = key
                break
        if best is None:
            self._lsh.insert(index, mh, check_duplication=False)
            self._signatures[index] = signature
        return best


def find_near_duplicates(
    texts: Iterable[str], threshold: float = 0.8, num_perm: int = 128, shingle_size: int = 5
) -> DedupResult:
    """Near-duplicates in ``texts`` (by position), keeping the first of each group."""
    index = NearDuplicateIndex(threshold, num_perm, shingle_size)
    duplicates: dict[int, int] = {}
    total = 0
    for i, text in enumerate(texts):
        total += 1
        kept = index.add(i, text)
        if kept is not None:
            duplicates[i] = kept
    return DedupResult(duplicates, total)
