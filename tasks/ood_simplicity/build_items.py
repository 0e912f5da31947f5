"""Build ``items.jsonl`` of the pro-simplicity OOD bank from ``sources/``.

    python tasks/ood_simplicity/build_items.py          # rewrite items.jsonl
    python tasks/ood_simplicity/build_items.py --check  # exit 1 if it is out of date
    python tasks/ood_simplicity/build_items.py --stats  # length balance, lopsided words

``sources/plain.txt``: the options differ in how simple they are (how few parts, features or
ornaments) only; the question says both cost about the same. ``sources/conflict.txt``: the
simpler option costs more (the affordability value pulls the other way). See README.md.
"""

import sys
from pathlib import Path

from msmkit.evals.bank_build import SAME_COST, Recipe, Subset, main

RECIPE = Recipe(
    folder=Path(__file__).resolve().parent,
    value="simplicity",
    plain=Subset("plain", "simp", question=SAME_COST),
    conflict=Subset("conflict", "simp-cf", conflict=True),
    against="affordability",
)

if __name__ == "__main__":
    sys.exit(main(RECIPE, sys.argv[1:]))
