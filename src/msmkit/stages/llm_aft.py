"""``llm-aft``: the arm's spec -> AFT demonstrations through the LLM pipeline
(``msmkit.aftgen``), on the same provider layer as ``llm-docs``.

Slots: ``spec`` (what the prompts are about) and ``from_spec`` (what the responses are written
from and graded against). Both take the arm's latest spec unless ``inputs`` names another
step: ``from_spec: anti`` writes anti-spec responses to the same prompts. Produces ``chats``:
``data`` (reasoning in its own field) and ``data_no_reasoning`` (the same chats without it).

Resumable: every paid result is journaled in ``journal/``; a rerun (after a crash, a budget
stop, a batch wait, a probe or an edit of a ``steps/*.json`` file) sends only what is missing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from msmkit.aftgen.settings import AftgenSettings
from msmkit.components import Estimate, Options
from msmkit.stagekit import RUNTIME, StageContext


class LLMAftOptions(AftgenSettings):
    probe: int | None = Field(
        None,
        ge=1,
        json_schema_extra=RUNTIME,
        description="send only the first N requests of each step, report the yield per "
        "dollar and stop (the stage stays unfinished; a rerun without it goes on)",
    )


class LLMAftKind:
    name = "llm-aft"
    description = "Generate AFT chats from a spec with an LLM (prompts, responses, grader)"
    version = "1"
    Options: ClassVar[type[Options]] = LLMAftOptions
    consumes: ClassVar[dict[str, str]] = {"spec": "spec", "from_spec": "spec"}
    produces: ClassVar[str] = "chats"
    resumable: ClassVar[bool] = True
    keep_on_redo: ClassVar[tuple[str, ...]] = ("journal",)
    """Kept when an edited step file makes the stage run again: the paid results."""

    def label(self, options: LLMAftOptions) -> str:
        what = "reasoning" if options.reasoning else "no reasoning"
        return f"AFT data (llm {options.model}, {options.style} style, {what})"

    def fingerprint_extra(self, options: LLMAftOptions) -> dict[str, Any]:
        from msmkit.aftgen.prompts import load_prompts

        return {"prompts": load_prompts(options.prompts_dir).hashes()}

    def validate(self, options: LLMAftOptions) -> None:
        from msmkit.aftgen.checks import check

        check(options)

    def estimate(self, options: LLMAftOptions, upstream: dict[str, Estimate]) -> Estimate:
        from msmkit.aftgen.checks import check
        from msmkit.aftgen.estimate import estimate

        prompts, prices, limits = check(options)
        spec = upstream["spec"].artifact if "spec" in upstream else None
        source = upstream.get("from_spec", upstream.get("spec"))
        written = source.artifact if source is not None else None
        if spec is None or written is None:
            return Estimate(
                self.name,
                items=options.target_chats(),
                notes=["the spec is made by an earlier stage: no cost estimate"],
            )
        return estimate(
            options,
            prompts,
            prices,
            limits,
            spec_text=spec.text(),
            from_text=written.text(),
            stage=self.name,
        )

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.aftgen import checks
        from msmkit.aftgen.flow import run_all
        from msmkit.aftgen.pipeline import AftPipeline
        from msmkit.stages.spec import load_spec_input

        opts: LLMAftOptions = ctx.options
        spec = load_spec_input(ctx.inputs["spec"])
        written = load_spec_input(ctx.inputs.get("from_spec") or ctx.inputs["spec"])
        prompts, prices, limits = checks.check(opts)
        executors = checks.executors_for(opts)  # fails here without a key
        (ctx.dir / "spec.md").write_text(spec.text(), encoding="utf-8")
        if written.hash != spec.hash:
            (ctx.dir / "written_from.md").write_text(written.text(), encoding="utf-8")
        p = AftPipeline(
            ctx,
            spec=spec,
            from_spec=written,
            settings=opts,
            prompts=prompts,
            executors=executors,
            prices=prices,
            limits=limits,
            probe=opts.probe,
            version=self.version,
        )
        return run_all(p)
