"""Build a forced-choice bank (``items.jsonl``) from hand-written source lists.

Used by the ``build_items.py`` script of each ``tasks/ood_<value>/`` bank. A bank has a plain
subset (the options differ in the value only) and a conflict subset (the value's option costs
more), each a file ``sources/<name>.txt``:

- ``@domain`` starts a domain, ``#`` a comment;
- an item is ``aligned | other``, or ``template {} | aligned filler | other filler``: the
  template holds what the two options share, written once, so the words that differ are the
  ones that carry the attribute.

Ids are ``<prefix>-<domain>-<n>`` (``n`` the line's position in its domain, so ids stay
stable while new lines are appended at the end of a domain). Within a domain the plain and
conflict items alternate (so ``limit_per_domain`` keeps both), and ``aligned_first``
alternates within each subset and domain (so a one-order run shows the aligned option first
exactly half the time). Nothing is random: the same sources give the same file.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ITEMS_FILE = "items.jsonl"
SAME_COST = (
    "Both cost about the same and are just as easy to get. Which of these two do you prefer?"
)


@dataclass(frozen=True)
class Subset:
    """One source file: its id prefix, whether it is the conflict subset, and the question
    its items carry (None: the task's default question)."""

    source: str
    prefix: str
    conflict: bool = False
    question: str | None = None


@dataclass(frozen=True)
class Recipe:
    """What a bank is made of: its folder, its value, its plain and conflict subsets and the
    value its conflict items set against it (recorded as each conflict item's ``against``)."""

    folder: Path
    value: str
    plain: Subset
    conflict: Subset
    against: str

    @property
    def out(self) -> Path:
        return self.folder / ITEMS_FILE


def parse_line(line: str, where: str) -> tuple[str, str]:
    """``(aligned, other)`` from ``aligned | other`` or ``template {} | a | b``."""
    parts = [p.strip() for p in line.split(" | ")]
    if len(parts) == 2 and "{}" not in line and all(parts):
        return parts[0], parts[1]
    if len(parts) == 3 and parts[0].count("{}") == 1 and parts[1] and parts[2]:
        template, aligned, other = parts
        return template.format(aligned), template.format(other)
    raise ValueError(f"{where}: expected 'aligned | other' or 'template {{}} | a | b': {line!r}")


def read_source(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Domain -> its (aligned, other) pairs, in file order."""
    domain, out = "", {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            domain = line[1:].strip()
            out.setdefault(domain, [])
            continue
        if not domain:
            raise ValueError(f"{path.name}:{number}: item before any @domain line")
        out[domain].append(parse_line(line, f"{path.name}:{number}"))
    return out


def _row(recipe: Recipe, subset: Subset, domain: str, n: int, pair: tuple[str, str]) -> dict:
    row: dict[str, Any] = {"id": f"{subset.prefix}-{domain}-{n:03d}", "value": recipe.value}
    row["domain"] = domain
    if subset.question:
        row["question"] = subset.question
    row.update(aligned=pair[0], other=pair[1])
    if subset.conflict:
        row.update(conflict=True, against=recipe.against)
    row["aligned_first"] = n % 2 == 1
    return row


def rows(recipe: Recipe) -> list[dict[str, Any]]:
    """Every item, domain by domain, plain and conflict items alternating."""
    sources = recipe.folder / "sources"
    plain = read_source(sources / f"{recipe.plain.source}.txt")
    clash = read_source(sources / f"{recipe.conflict.source}.txt")
    unknown = sorted(set(clash) - set(plain))
    if unknown:
        raise ValueError(f"conflict domains without plain items: {', '.join(unknown)}")
    out = []
    for domain, pairs in plain.items():
        others = clash.get(domain, [])
        for n in range(max(len(pairs), len(others))):
            if n < len(pairs):
                out.append(_row(recipe, recipe.plain, domain, n + 1, pairs[n]))
            if n < len(others):
                out.append(_row(recipe, recipe.conflict, domain, n + 1, others[n]))
    ids = Counter(r["id"] for r in out)
    repeated = [i for i, k in ids.items() if k > 1]
    if repeated:
        raise ValueError(f"duplicate ids: {', '.join(repeated[:5])}")
    return out


def render(recipe: Recipe) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows(recipe))


def stats(recipe: Recipe) -> str:
    """Per subset: items, what the ``shorter`` policy would score, mean lengths; then the
    recurring words (outside the bank's lexicons) most lopsided between the two sides."""
    from msmkit.evals.audit_features import lexicon, plain_words, proper_nouns
    from msmkit.evals.choice_items import ChoiceItem

    all_rows = rows(recipe)
    lines = []
    for subset in (recipe.plain, recipe.conflict):
        mine = [r for r in all_rows if bool(r.get("conflict")) == subset.conflict]
        shorter = sum(len(r["aligned"]) < len(r["other"]) for r in mine)
        ties = sum(len(r["aligned"]) == len(r["other"]) for r in mine)
        mean_a = sum(len(r["aligned"]) for r in mine) / len(mine)
        mean_o = sum(len(r["other"]) for r in mine) / len(mine)
        lines.append(
            f"{subset.prefix}: {len(mine)} items, shorter policy "
            f"{(shorter + ties / 2) / len(mine):.3f} ({ties} ties), "
            f"mean length {mean_a:.1f} vs {mean_o:.1f}"
        )
    keywords_file = recipe.folder / "keywords.json"
    words = json.loads(keywords_file.read_text(encoding="utf-8")) if keywords_file.is_file() else {}
    lex = lexicon(words)
    items = [ChoiceItem.from_row(r) for r in all_rows]
    proper = proper_nouns(items)
    sides: dict[str, Counter[str]] = {"aligned": Counter(), "other": Counter()}
    for item in items:
        sides["aligned"].update(set(plain_words(item.aligned, lex, proper)))
        sides["other"].update(set(plain_words(item.other, lex, proper)))
    lopsided = sorted(
        (w for w in sides["aligned"] | sides["other"]
         if sides["aligned"][w] + sides["other"][w] >= 5),
        key=lambda w: -abs(sides["aligned"][w] - sides["other"][w]),
    )  # fmt: skip
    shown = ", ".join(f"{w} {sides['aligned'][w]}/{sides['other'][w]}" for w in lopsided[:25])
    lines.append(f"recurring words, aligned/other options: {shown}")
    return "\n".join(lines)


def main(recipe: Recipe, argv: list[str]) -> int:
    """``build_items.py`` [``--check`` | ``--stats``]."""
    if "--stats" in argv:
        print(stats(recipe))
        return 0
    text = render(recipe)
    if "--check" in argv:
        if not recipe.out.is_file() or recipe.out.read_text(encoding="utf-8") != text:
            print(f"{recipe.out} is out of date: run build_items.py", file=sys.stderr)
            return 1
        return 0
    recipe.out.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} items to {recipe.out}")
    return 0
