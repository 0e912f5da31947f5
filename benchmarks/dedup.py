"""Time near-duplicate removal on a synthetic corpus with planted near-duplicates.

    python benchmarks/dedup.py [--docs 100000] [--words 200] [--dup-rate 0.1]

Prints the time, documents per second and the recall of the planted duplicates (the share
of planted copies removed) and the number of originals wrongly removed.
"""

from __future__ import annotations

import argparse
import random
import time

from msmkit.filters.dedup import find_near_duplicates


def make_corpus(n: int, words: int, dup_rate: float, seed: int = 0) -> tuple[list[str], set[int]]:
    """``n`` documents of random vocabulary; a ``dup_rate`` share are copies of an earlier
    document with a few words changed (``planted``: their positions)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20000)]
    texts: list[str] = []
    planted: set[int] = set()
    originals: list[int] = []
    for i in range(n):
        if originals and rng.random() < dup_rate:
            words_ = texts[rng.choice(originals)].split()
            for _ in range(2):  # two substitutions: Jaccard of 5-shingles stays ~0.9
                words_[rng.randrange(len(words_))] = rng.choice(vocab)
            texts.append(" ".join(words_))
            planted.add(i)
        else:
            originals.append(i)
            texts.append(" ".join(rng.choices(vocab, k=words)))
    return texts, planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--dup-rate", type=float, default=0.1)
    args = parser.parse_args()
    texts, planted = make_corpus(args.docs, args.words, args.dup_rate)
    start = time.perf_counter()
    result = find_near_duplicates(texts)
    seconds = time.perf_counter() - start
    removed = set(result.duplicates)
    recall = len(removed & planted) / max(1, len(planted))
    print(f"documents: {args.docs} ({len(planted)} planted near-duplicates)")
    print(f"time: {seconds:.1f} s  ({args.docs / seconds:,.0f} documents/s)")
    print(f"recall of planted duplicates: {recall:.4f}")
    print(f"originals removed (false positives): {len(removed - planted)}")


if __name__ == "__main__":
    main()
