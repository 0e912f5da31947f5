"""``spec``: an arm's spec, after its variants, as an artifact other stages consume.

The spec is written to ``spec.md`` in its file format (``parse_spec`` reads it back), and its
name, content hash, subject and lineage (what each variant changed) are outputs. A kind that
consumes a ``spec`` slot reads it with :func:`load_spec_input`, whether the slot is filled by
this stage or by a spec given from outside the store (``msmkit generate docs``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from msmkit.components import Estimate, Options
from msmkit.hashing import fingerprint
from msmkit.stagekit import StageContext, Upstream

if TYPE_CHECKING:
    from msmkit.spec import Spec


class SpecOptions(Options):
    name: str
    hash: str = Field(description="sha256 of the rendered spec")
    text: str = Field(description="the spec in its file format, after variants")
    subject: str = "the assistant"
    prose: bool = Field(False, description="a free-prose spec (no front matter)")
    lineage: list[str] = Field(default_factory=list)


def spec_options(spec: Spec) -> SpecOptions:
    return SpecOptions(
        name=spec.name,
        hash=spec.hash,
        text=spec.render(),
        subject=spec.subject,
        prose=spec.is_prose,
        lineage=list(spec.lineage),
    )


def spec_outputs(options: SpecOptions) -> dict[str, Any]:
    return {
        "name": options.name,
        "hash": options.hash,
        "subject": options.subject,
        "prose": options.prose,
        "lineage": list(options.lineage),
    }


def external_spec(spec: Spec) -> Upstream:
    """A spec from outside the store as a filled ``spec`` slot (its text rides along)."""
    opts = spec_options(spec)
    key = fingerprint("spec", opts.text, opts.lineage)
    return Upstream("spec", key, {**spec_outputs(opts), "text": opts.text})


def load_spec_input(up: Upstream) -> Spec:
    """The Spec in a filled ``spec`` slot (lineage included)."""
    from msmkit.spec import parse_spec
    from msmkit.spec.parse import parse_prose_spec

    text = up.outputs.get("text")
    if text is None:
        text = up.path("spec").read_text(encoding="utf-8")
    name = str(up.outputs.get("name") or "spec")
    if up.outputs.get("prose"):
        spec = parse_prose_spec(str(text), path=f"{name}.md", name=name)
    else:
        spec = parse_spec(str(text))
    return dataclasses.replace(spec, lineage=tuple(up.outputs.get("lineage") or ()))


class SpecKind:
    name = "spec"
    description = "An arm's spec after its variants, written down for the stages that read it"
    version = "1"
    Options: ClassVar[type[Options]] = SpecOptions
    consumes: ClassVar[dict[str, str]] = {}
    produces: ClassVar[str] = "spec"
    resumable: ClassVar[bool] = False

    def label(self, options: SpecOptions) -> str:
        extra = f" [{'; '.join(options.lineage)}]" if options.lineage else ""
        return f"spec {options.name}{extra}"

    def estimate(self, options: SpecOptions, upstream: dict[str, Estimate]) -> Estimate:
        return Estimate("spec", items=1, tokens=len(options.text) // 4)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        opts: SpecOptions = ctx.options
        (ctx.dir / "spec.md").write_text(opts.text, encoding="utf-8")
        return {"spec": "spec.md", **spec_outputs(opts)}
