"""The registered ``llm`` generator: it plans and validates; the ``llm-docs`` stage runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from msmkit.components import Estimate
from msmkit.docgen.settings import DocgenSettings, resolve_path
from msmkit.errors import ConfigError


class LLMGenerator:
    """Documents written by an LLM through the staged pipeline (domains ... documents)."""

    name: ClassVar[str] = "llm"
    description: ClassVar[str] = (
        "LLM pipeline: domains, subdomains, assertions, types, ideas, documents (API key)"
    )
    version: ClassVar[str] = "1"
    Options: ClassVar[type[DocgenSettings]] = DocgenSettings
    stage_kind: ClassVar[str] = "llm-docs"
    """The graph runs this generator as a stage of this kind instead of ``corpus``."""

    def stage_options(self, options: DocgenSettings, base_dir: Path | None) -> Any:
        """The ``llm-docs`` stage's options; paths resolved against ``base_dir`` (the
        experiment file's folder). The spec comes through the stage's ``spec`` slot."""
        from msmkit.stages.llm_docs import LLMDocsOptions

        update = {}
        for name in ("prompts_dir", "prices"):
            path = resolve_path(getattr(options, name), base_dir)
            if path is not None:
                update[name] = str(path)
        return LLMDocsOptions(settings=options.model_copy(update=update))

    def plan(self, spec: Any, options: DocgenSettings) -> Estimate:
        from msmkit.stages.llm_docs import LLMDocsKind

        spec_estimate = Estimate("spec", artifact=spec)
        return LLMDocsKind().estimate(self.stage_options(options, None), {"spec": spec_estimate})

    def generate(self, spec: Any, options: Any, *, skip: frozenset[str] = frozenset()) -> Any:
        raise ConfigError(
            "the llm generator runs as a stage, not as a plain generator",
            hint="use it from an experiment (generate: {name: llm}) or `msmkit generate docs`",
        )
