"""``llm-docs``: a spec -> documents through the staged LLM pipeline (``msmkit.docgen``).

Resumable: every paid result is journaled in ``journal/``, and a rerun (after a crash, a
budget stop, a batch wait or an edit of a ``steps/*.json`` file) sends only what is missing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from msmkit.components import Estimate, Options
from msmkit.docgen.settings import DocgenSettings
from msmkit.stagekit import StageContext


class LLMDocsOptions(Options):
    spec_name: str
    spec_hash: str
    spec_text: str = Field(description="the spec as the prompts show it (after variants)")
    subject: str = "the assistant"
    lineage: list[str] = Field(default_factory=list)
    settings: DocgenSettings = Field(default_factory=DocgenSettings)


class LLMDocsKind:
    name = "llm-docs"
    description = "Generate documents about a spec with an LLM pipeline (domains ... documents)"
    version = "1"
    Options: ClassVar[type[Options]] = LLMDocsOptions
    consumes: ClassVar[dict[str, str]] = {}
    produces: ClassVar[str] = "corpus"
    resumable: ClassVar[bool] = True
    keep_on_redo: ClassVar[tuple[str, ...]] = ("journal",)
    """Kept when an edited step file makes the stage run again: the paid results."""

    def label(self, options: LLMDocsOptions) -> str:
        extra = f" [{'; '.join(options.lineage)}]" if options.lineage else ""
        return f"generate {options.spec_name}{extra} (llm {options.settings.model})"

    def fingerprint_extra(self, options: LLMDocsOptions) -> dict[str, Any]:
        from msmkit.docgen.prompts import load_prompts

        s = options.settings
        return {"prompts": load_prompts(s.prompts_dir, rules=s.mode == "rules").hashes()}

    def validate(self, options: LLMDocsOptions) -> None:
        from msmkit.docgen.generator import check

        check(options.settings)

    def estimate(self, options: LLMDocsOptions, upstream: dict[str, Estimate]) -> Estimate:
        from msmkit.docgen.estimate import estimate
        from msmkit.docgen.generator import check

        prompts, price = check(options.settings)
        return estimate(
            options.settings,
            prompts,
            price,
            spec_text=options.spec_text,
            spec_name=options.spec_name,
            stage=self.name,
        )

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.docgen import pipeline
        from msmkit.docgen.flow import run_all
        from msmkit.docgen.generator import check

        opts: LLMDocsOptions = ctx.options
        prompts, price = check(opts.settings)
        executor = pipeline.executor_for(opts.settings)  # fails here without a key
        (ctx.dir / "spec.md").write_text(opts.spec_text, encoding="utf-8")
        p = pipeline.Pipeline(
            ctx,
            spec_name=opts.spec_name,
            spec_hash=opts.spec_hash,
            spec_text=opts.spec_text,
            subject=opts.subject,
            settings=opts.settings,
            prompts=prompts,
            executor=executor,
            price=price,
            version=self.version,
        )
        return run_all(p)
