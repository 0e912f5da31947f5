"""Apply the corpus filters in order and account for every removed document."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from msmkit.components import Options
from msmkit.corpus import Document
from msmkit.filters.report import count_tokens

ORDER = ("length", "refusal", "placeholder", "contamination", "dedup")
"""Cheap rules first; dedup last so a kept representative is never one a rule would drop."""


class FilterOptions(Options):
    """What to filter. Every filter but contamination is on by default."""

    dedup: bool = True
    dedup_threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard of shingle sets")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    shingle_size: int = Field(5, ge=1, le=20, description="words per shingle")
    min_words: int | None = Field(None, ge=0)
    max_words: int | None = Field(None, ge=1)
    refusals: bool = True
    refusal_patterns: list[str] | None = Field(None, description="regexes; None: the defaults")
    placeholders: bool = True
    placeholder_patterns: list[str] | None = Field(None, description="None: the defaults")
    contamination: Literal["off", "report", "remove"] = "off"
    contamination_banks: list[str] | None = Field(
        None, description="eval banks (task folders); None: the held-out forced-choice banks"
    )
    tokenizer: str | None = Field(
        None, description="tokenizer.json or model folder for token counts (default chars/4)"
    )


@dataclass
class FilterResult:
    kept: list[Document]
    removed: list[dict[str, Any]]  # each: the document's record plus "reason" and "detail"
    counts: dict[str, int]
    contaminated: list[dict[str, Any]]  # {"id", "items"} for every document that hits
    dedup_groups: list[dict[str, Any]]
    tokens: dict[str, Any]
    total: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        return {
            "documents": self.total,
            "kept": len(self.kept),
            "removed": self.counts,
            "tokens_estimate": self.tokens["tokens"],
            "tokens_method": self.tokens["method"],
            "contamination": {
                "documents": len(self.contaminated),
                "items": sorted({i for c in self.contaminated for i in c["items"]}),
                "hits": self.contaminated,
            },
            "dedup_groups": self.dedup_groups,
            "options": self.options,
        }


def _rule_checks(opts: FilterOptions) -> list[tuple[str, Callable[[str], str | None]]]:
    from msmkit.filters.rules import length_reason, placeholder_filter, refusal_filter

    checks: list[tuple[str, Callable[[str], str | None]]] = []
    if opts.min_words is not None or opts.max_words is not None:
        checks.append(("length", lambda t: length_reason(t, opts.min_words, opts.max_words)))
    if opts.refusals:
        checks.append(("refusal", refusal_filter(opts.refusal_patterns).match))
    if opts.placeholders:
        checks.append(("placeholder", placeholder_filter(opts.placeholder_patterns).match))
    return checks


def run_filters(
    documents: Iterable[Document],
    opts: FilterOptions,
    advance: Callable[[int], None] | None = None,
) -> FilterResult:
    """Filter ``documents`` (corpus order kept); deterministic for the same input."""
    from msmkit.filters.contamination import ContaminationIndex
    from msmkit.filters.dedup import NearDuplicateIndex

    checks = _rule_checks(opts)
    contamination = (
        ContaminationIndex.installed(opts.contamination_banks)
        if opts.contamination != "off"
        else None
    )
    dedup = (
        NearDuplicateIndex(opts.dedup_threshold, opts.num_perm, opts.shingle_size)
        if opts.dedup
        else None
    )
    counts = dict.fromkeys(ORDER, 0)
    kept: list[Document] = []
    removed: list[dict[str, Any]] = []
    contaminated: list[dict[str, Any]] = []
    groups: dict[str, list[str]] = {}
    total = 0

    def drop(doc: Document, reason: str, detail: Any) -> None:
        counts[reason] += 1
        removed.append({**doc.to_record(), "reason": reason, "detail": detail})

    for doc in documents:
        total += 1
        if advance is not None:
            advance(1)
        reason = next(((name, d) for name, check in checks if (d := check(doc.text))), None)
        if reason is not None:
            drop(doc, *reason)
            continue
        if contamination is not None:
            items = contamination.items_hit(doc.text)
            if items:
                contaminated.append({"id": doc.id, "items": items})
                if opts.contamination == "remove":
                    drop(doc, "contamination", items)
                    continue
        if dedup is not None:
            twin = dedup.add(len(kept), doc.text)
            if twin is not None:
                kept_id = kept[twin].id
                groups.setdefault(kept_id, []).append(doc.id)
                drop(doc, "dedup", {"kept": kept_id})
                continue
        kept.append(doc)
    return FilterResult(
        kept=kept,
        removed=removed,
        counts=counts,
        contaminated=contaminated,
        dedup_groups=[{"kept": k, "removed": v} for k, v in groups.items()],
        tokens=count_tokens((d.text for d in kept), opts.tokenizer),
        total=total,
        options=opts.model_dump(mode="json"),
    )


def write_outputs(result: FilterResult, out_dir: Path, corpus_name: str = "corpus.jsonl") -> Path:
    """``corpus.jsonl``, ``removed.jsonl`` and ``report.json`` in ``out_dir``."""
    import json

    from msmkit.corpus import CorpusWriter

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / corpus_name
    path.unlink(missing_ok=True)  # a rerun rewrites, never appends
    with CorpusWriter(path) as writer:
        for doc in result.kept:
            writer.write(doc)
    with (out_dir / "removed.jsonl").open("w", encoding="utf-8") as fh:
        for row in result.removed:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    report = {"corpus": corpus_name, **result.report()}
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return path
