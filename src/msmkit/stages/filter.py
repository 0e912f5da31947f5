"""``filter``: corpus -> corpus, removing near-duplicates, bad lengths, refusals,
placeholders and (optionally) eval contamination, with a report of what each removed."""

from __future__ import annotations

from typing import Any, ClassVar

from msmkit.components import Estimate, Options
from msmkit.filters.pipeline import FilterOptions
from msmkit.stagekit import StageContext


class FilterKind:
    name = "filter"
    description = "Drop near-duplicate, wrong-length, refusal, template or eval-leaking documents"
    version = "1"
    Options: ClassVar[type[Options]] = FilterOptions
    consumes: ClassVar[dict[str, str]] = {"corpus": "corpus"}
    produces: ClassVar[str] = "corpus"
    resumable: ClassVar[bool] = False

    def label(self, options: FilterOptions) -> str:
        parts = [name for name in ("dedup", "refusals", "placeholders") if getattr(options, name)]
        if options.min_words is not None or options.max_words is not None:
            parts.append("length")
        if options.contamination != "off":
            parts.append(f"contamination:{options.contamination}")
        return f"filter ({', '.join(parts) or 'nothing'})"

    def estimate(self, options: FilterOptions, upstream: dict[str, Estimate]) -> Estimate:
        up = upstream.get("corpus")
        return Estimate("filter", items=up.items if up else 0, tokens=up.tokens if up else 0)

    def validate(self, options: FilterOptions) -> None:
        import re

        from msmkit.errors import OptionError
        from msmkit.filters.contamination import bank_paths

        for field in ("refusal_patterns", "placeholder_patterns"):
            for i, pattern in enumerate(getattr(options, field) or []):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise OptionError(f"not a regex: {exc}", loc=(field, i)) from None
        if options.contamination != "off":
            try:
                bank_paths(banks=options.contamination_banks)
            except ValueError as exc:
                raise OptionError(str(exc), loc=("contamination_banks",)) from None
        if (
            options.min_words is not None
            and options.max_words is not None
            and options.min_words > options.max_words
        ):
            raise OptionError("min_words is above max_words", loc=("min_words",))

    def fingerprint_extra(self, options: FilterOptions) -> Any:
        """The eval banks' content decides what contamination removes."""
        if options.contamination == "off":
            return None
        from msmkit.filters.contamination import bank_paths
        from msmkit.hashing import sha256_file

        return {p.name: sha256_file(p) for p in bank_paths(banks=options.contamination_banks)}

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.corpus import read_corpus
        from msmkit.filters.pipeline import run_filters, write_outputs

        self.validate(ctx.options)
        src = ctx.inputs["corpus"].path("corpus")
        with ctx.progress() as advance:
            result = run_filters(read_corpus(src), ctx.options, advance=advance)
        write_outputs(result, ctx.dir)
        ctx.note(f"kept {len(result.kept)} of {result.total} documents")
        return {
            "corpus": "corpus.jsonl",
            "removed_file": "removed.jsonl",
            "report": "report.json",
            "documents": len(result.kept),
            "kept": len(result.kept),
            "removed": result.counts,
            "tokens_estimate": result.tokens["tokens"],
        }
