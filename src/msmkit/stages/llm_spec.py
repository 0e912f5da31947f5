"""``llm-spec``: the arm's spec -> an LLM-made version of it (``msmkit.specgen``): value
augmentation, rule augmentation (both length-matched to one target) or the anti-spec.

An arm names it in its ``stages:`` before ``generate``; the spec it makes is the arm's latest,
so ``generate`` (and ``llm-aft``) use it. Resumable: every paid answer is journaled in
``journal/``, and a rerun (after a crash, a budget stop or a batch wait) sends only what is
missing; a finished stage is reused by its fingerprint and sends nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from msmkit.components import Estimate, Options
from msmkit.errors import ConfigError
from msmkit.specgen.settings import SpecgenSettings
from msmkit.stagekit import StageContext

WHAT = {"value": "value augmentation", "rule": "rule augmentation", "invert": "anti-spec"}


class LLMSpecKind:
    name = "llm-spec"
    description = "LLM-made spec: value- or rule-augmented (length-matched) or its anti-spec"
    version = "1"
    Options: ClassVar[type[Options]] = SpecgenSettings
    consumes: ClassVar[dict[str, str]] = {"spec": "spec"}
    produces: ClassVar[str] = "spec"
    resumable: ClassVar[bool] = True
    keep_on_redo: ClassVar[tuple[str, ...]] = ("journal",)
    """Kept when the stage runs again: the paid results."""

    def label(self, options: SpecgenSettings) -> str:
        return f"spec ({WHAT[options.augment]}, llm {options.model})"

    def fingerprint_extra(self, options: SpecgenSettings) -> dict[str, Any]:
        from msmkit.specgen.prompts import load_prompts

        return {"prompts": load_prompts(options.prompts_dir, options.augment).hashes()}

    def validate(self, options: SpecgenSettings) -> None:
        from msmkit.specgen.pipeline import check

        check(options)

    def estimate(self, options: SpecgenSettings, upstream: dict[str, Estimate]) -> Estimate:
        from msmkit.specgen.estimate import estimate
        from msmkit.specgen.pipeline import check

        prompts, price, limits = check(options)
        spec = upstream["spec"].artifact if "spec" in upstream else None
        if spec is None:
            return Estimate(
                self.name, items=1, notes=["the spec is made by an earlier stage: no cost estimate"]
            )
        return estimate(options, prompts, price, limits, spec, stage=self.name)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.specgen import pipeline
        from msmkit.specgen.flow import run_all
        from msmkit.stages.spec import load_spec_input

        opts: SpecgenSettings = ctx.options
        spec = load_spec_input(ctx.inputs["spec"])
        if spec.is_prose:
            raise ConfigError(
                f"llm-spec needs a structured spec; '{spec.name}' is free prose",
                hint="write the spec in the structured format (docs/specs.md)",
            )
        prompts, price, limits = pipeline.check(opts)
        executors = pipeline.executors_for(opts)  # fails here without a key
        (ctx.dir / "input.md").write_text(spec.render(), encoding="utf-8")
        p = pipeline.SpecPipeline(
            ctx,
            spec=spec,
            settings=opts,
            prompts=prompts,
            executors=executors,
            price=price,
            limits=limits,
        )
        return run_all(p)
