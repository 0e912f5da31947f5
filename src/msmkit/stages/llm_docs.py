"""``llm-docs``: the arm's spec -> documents through the staged LLM pipeline (``msmkit.docgen``).

Resumable: every paid result is journaled in ``journal/``, and a rerun (after a crash, a
budget stop, a batch wait or an edit of a ``steps/*.json`` file) sends only what is missing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from msmkit.components import Estimate, Options
from msmkit.docgen.settings import DocgenSettings
from msmkit.stagekit import RUNTIME, StageContext


class LLMDocsOptions(Options):
    settings: DocgenSettings = Field(default_factory=DocgenSettings)
    probe: int | None = Field(
        None,
        ge=1,
        json_schema_extra=RUNTIME,
        description="send only the first N requests of each step, report the yield per "
        "dollar and stop (the stage stays unfinished; a rerun without it goes on)",
    )


class LLMDocsKind:
    name = "llm-docs"
    description = "Generate documents about a spec with an LLM pipeline (domains ... documents)"
    version = "2"
    Options: ClassVar[type[Options]] = LLMDocsOptions
    consumes: ClassVar[dict[str, str]] = {"spec": "spec"}
    produces: ClassVar[str] = "corpus"
    resumable: ClassVar[bool] = True
    keep_on_redo: ClassVar[tuple[str, ...]] = ("journal",)
    """Kept when an edited step file makes the stage run again: the paid results."""

    def label(self, options: LLMDocsOptions) -> str:
        return f"generate (llm {options.settings.model})"

    def fingerprint_extra(self, options: LLMDocsOptions) -> dict[str, Any]:
        from msmkit.docgen.prompts import load_prompts

        s = options.settings
        return {"prompts": load_prompts(s.prompts_dir, rules=s.mode == "rules").hashes()}

    def validate(self, options: LLMDocsOptions) -> None:
        from msmkit.docgen.checks import check

        check(options.settings)

    def estimate(self, options: LLMDocsOptions, upstream: dict[str, Estimate]) -> Estimate:
        from msmkit.docgen.checks import check
        from msmkit.docgen.estimate import estimate

        prompts, price, limits = check(options.settings)
        spec = upstream["spec"].artifact if "spec" in upstream else None
        if spec is None:
            return Estimate(
                self.name, notes=["the spec is made by an earlier stage: no cost estimate"]
            )
        return estimate(
            options.settings,
            prompts,
            price,
            spec_text=spec.text(),
            spec_name=spec.name,
            stage=self.name,
            limits=limits,
        )

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.docgen import pipeline
        from msmkit.docgen.checks import check
        from msmkit.docgen.flow import run_all
        from msmkit.stages.spec import load_spec_input

        opts: LLMDocsOptions = ctx.options
        spec = load_spec_input(ctx.inputs["spec"])
        prompts, price, limits = check(opts.settings)
        executor = pipeline.executor_for(opts.settings)  # fails here without a key
        (ctx.dir / "spec.md").write_text(spec.text(), encoding="utf-8")
        p = pipeline.Pipeline(
            ctx,
            spec_name=spec.name,
            spec_hash=spec.hash,
            spec_text=spec.text(),
            subject=spec.subject,
            settings=opts.settings,
            prompts=prompts,
            executor=executor,
            price=price,
            version=self.version,
            probe=opts.probe,
            limits=limits,
        )
        return run_all(p)
