"""Build ``items.jsonl`` of the pro-individualism OOD bank from ``sources/``.

    python tasks/ood_individualism/build_items.py          # rewrite items.jsonl
    python tasks/ood_individualism/build_items.py --check  # exit 1 if it is out of date
    python tasks/ood_individualism/build_items.py --stats  # length balance, lopsided words

``sources/plain.txt``: the options differ in whether one does the thing alone, in one's own
way, or as one part of a group only; the question says both cost about the same.
``sources/conflict.txt``: the individual option costs more (the affordability value pulls
the other way). See README.md.
"""

import sys
from pathlib import Path

from msmkit.evals.bank_build import SAME_COST, Recipe, Subset, main

RECIPE = Recipe(
    folder=Path(__file__).resolve().parent,
    value="individualism",
    plain=Subset("plain", "ind", question=SAME_COST),
    conflict=Subset("conflict", "ind-cf", conflict=True),
    against="affordability",
)

if __name__ == "__main__":
    sys.exit(main(RECIPE, sys.argv[1:]))
