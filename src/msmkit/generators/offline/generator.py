"""The ``offline`` generator itself: options, planning, and the deterministic document loop."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field, field_validator

from msmkit.components import Estimate, Options
from msmkit.corpus import Document
from msmkit.errors import ConfigError
from msmkit.generators.offline.context import make_context
from msmkit.generators.offline.documents import DOC_TYPES

if TYPE_CHECKING:
    from msmkit.spec import Principle, Spec

__all__ = ["OfflineGenerator", "OfflineOptions"]


class OfflineOptions(Options):
    """Settings of the ``offline`` generator."""

    docs_per_principle: int = Field(
        8, ge=1, le=100_000, description="documents written per principle (at most 100,000)"
    )
    doc_types: list[str] | None = Field(
        None, description="document types to use (default: all); see DOC_TYPES"
    )
    seed: int = Field(0, description="random seed; the same seed gives the same corpus")

    @field_validator("doc_types")
    @classmethod
    def _known_types(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must name at least one document type (or be left out)")
        unknown = [name for name in value if name not in DOC_TYPES]
        if unknown:
            raise ValueError(
                f"unknown document type(s) {', '.join(map(repr, unknown))}; "
                f"valid types: {', '.join(DOC_TYPES)}"
            )
        return list(dict.fromkeys(value))


class OfflineGenerator:
    """Template-based documents: no network, deterministic, thousands per second."""

    name: ClassVar[str] = "offline"
    description: ClassVar[str] = (
        "Template documents about each principle (no network; for tests and tiny models)"
    )
    version: ClassVar[str] = "1"
    Options: ClassVar[type[OfflineOptions]] = OfflineOptions

    def _options(self, options: Any) -> OfflineOptions:
        if isinstance(options, OfflineOptions):
            return options
        return OfflineOptions.model_validate(options or {})

    def plan_ids(self, spec: Spec, options: Any) -> list[tuple[Principle, str, str]]:
        """``(principle, doc_type, id)`` for every document, in generation order."""
        if spec.is_prose:
            raise ConfigError(
                f"the offline generator needs a structured spec (front matter + Rule/Why "
                f"principles); '{spec.name}' is free prose",
                hint="use an API generator, which decomposes prose specs, or add front matter "
                "and ## principles (docs/specs.md)",
            )
        opts = self._options(options)
        types = opts.doc_types or list(DOC_TYPES)
        planned = []
        for index, principle in enumerate(spec.principles):
            counts: dict[str, int] = {}
            for j in range(opts.docs_per_principle):
                doc_type = types[(index + j) % len(types)]
                k = counts.get(doc_type, 0)
                counts[doc_type] = k + 1
                planned.append((principle, doc_type, f"{principle.id}-{doc_type}-{k}"))
        return planned

    def plan(self, spec: Spec, options: Any) -> Estimate:
        opts = self._options(options)
        planned = self.plan_ids(spec, opts)
        sample = planned[:: max(1, len(planned) // 200)]
        chars = sum(len(self._write(spec, p, t, i, opts.seed)) for p, t, i in sample)
        total_chars = chars * len(planned) // max(1, len(sample))
        return Estimate(
            stage="generate",
            items=len(planned),
            tokens=total_chars // 4,
            dollars=0.0,
            notes=["offline templates: no API calls; tokens estimated as characters / 4"],
        )

    def generate(
        self, spec: Spec, options: Any, *, skip: frozenset[str] = frozenset()
    ) -> Iterator[Document]:
        opts = self._options(options)
        settings = opts.model_dump()
        spec_hash = spec.hash
        for principle, doc_type, doc_id in self.plan_ids(spec, opts):
            if doc_id in skip:
                continue
            yield Document(
                id=doc_id,
                text=self._write(spec, principle, doc_type, doc_id, opts.seed),
                doc_type=doc_type,
                principle=principle.id,
                spec_name=spec.name,
                spec_hash=spec_hash,
                generator=self.name,
                generator_version=self.version,
                settings=dict(settings),
            )

    @staticmethod
    def _write(spec: Spec, principle: Principle, doc_type: str, doc_id: str, seed: int) -> str:
        rng = random.Random(f"msmkit-offline|{seed}|{doc_id}")
        ctx = make_context(spec, principle, rng)
        return DOC_TYPES[doc_type](rng, ctx).strip() + "\n"
