"""The registered ``llm`` generator: it plans and validates; the ``llm-docs`` stage runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from msmkit.components import Estimate
from msmkit.docgen.settings import DocgenSettings, resolve_path
from msmkit.errors import ConfigError, OptionError


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

    def stage_options(self, spec: Any, options: DocgenSettings, base_dir: Path | None) -> Any:
        """The ``llm-docs`` stage's options for ``spec``; paths resolved against ``base_dir``
        (the experiment file's folder)."""
        from msmkit.stages.llm_docs import LLMDocsOptions

        update = {}
        for name in ("prompts_dir", "prices"):
            path = resolve_path(getattr(options, name), base_dir)
            if path is not None:
                update[name] = str(path)
        settings = options.model_copy(update=update)
        return LLMDocsOptions(
            spec_name=spec.name,
            spec_hash=spec.hash,
            spec_text=spec.text(),
            subject=spec.subject,
            lineage=list(spec.lineage),
            settings=settings,
        )

    def plan(self, spec: Any, options: DocgenSettings) -> Estimate:
        from msmkit.stages.llm_docs import LLMDocsKind

        return LLMDocsKind().estimate(self.stage_options(spec, options, None), {})

    def generate(self, spec: Any, options: Any, *, skip: frozenset[str] = frozenset()) -> Any:
        raise ConfigError(
            "the llm generator runs as a stage, not as a plain generator",
            hint="use it from an experiment (generate: {name: llm}) or `msmkit generate docs`",
        )


def check(options: DocgenSettings) -> tuple[Any, Any]:
    """Load the prompts and the model's price, or raise OptionError naming the field."""
    from msmkit.docgen.prompts import load_prompts
    from msmkit.pricing import PriceFileError, get_price, load_prices

    try:
        prompts = load_prompts(options.prompts_dir, rules=options.mode == "rules")
    except ConfigError as exc:
        raise OptionError(exc.message, loc=("prompts_dir",), hint=exc.hint) from None
    try:
        prices = load_prices(options.prices)
    except PriceFileError as exc:
        raise OptionError(str(exc), loc=("prices",)) from None
    try:
        price = get_price(prices, options.model)
    except KeyError as exc:
        raise OptionError(
            str(exc.args[0]),
            loc=("model",),
            hint="add the model to a price file (Inspect model-cost format) and give it as "
            "prices: FILE",
        ) from None
    return prompts, price
