"""``corpus``: the arm's spec (variants applied) -> documents, through a registered generator."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from msmkit.components import Estimate, Options
from msmkit.errors import MsmkitError
from msmkit.stagekit import StageContext


class CorpusOptions(Options):
    generator: str
    generator_version: str
    generator_options: dict[str, Any] = Field(default_factory=dict)
    items: int = Field(0, description="documents the generator plans (for the estimate)")
    tokens: int = 0


class CorpusKind:
    name = "corpus"
    description = "Generate documents about a spec with a document generator"
    version = "2"
    Options: ClassVar[type[Options]] = CorpusOptions
    consumes: ClassVar[dict[str, str]] = {"spec": "spec"}
    produces: ClassVar[str] = "corpus"
    resumable: ClassVar[bool] = True  # documents already written are kept, by id

    def label(self, options: CorpusOptions) -> str:
        return f"generate ({options.generator})"

    def estimate(self, options: CorpusOptions, upstream: dict[str, Estimate]) -> Estimate:
        return Estimate("corpus", items=options.items, tokens=options.tokens)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.corpus import CorpusWriter, Provenance, check_resumable, corpus_stats
        from msmkit.hashing import sha256_file
        from msmkit.registry import get_registry
        from msmkit.stages.spec import load_spec_input

        opts: CorpusOptions = ctx.options
        spec = load_spec_input(ctx.inputs["spec"])
        entry = get_registry("generators").entry(opts.generator)
        gen_options = entry.component.Options.model_validate(opts.generator_options)
        path = ctx.dir / "corpus.jsonl"
        expected = Provenance(
            spec.name, spec.hash, entry.name, opts.generator_version, settings=None
        )
        check_resumable(path, expected)  # a folder holding other documents is never mixed
        with CorpusWriter(path) as writer, ctx.progress(total=opts.items or None) as advance:
            already = writer.existing_ids
            advance(len(already))
            try:
                for doc in entry.component.generate(spec, gen_options, skip=already):
                    writer.write(doc)  # flushed line by line: a crash loses nothing
                    advance(1)
            except MsmkitError:
                raise
            except Exception as exc:
                raise entry.error("generating documents", exc) from exc
        (ctx.dir / "spec.md").write_text(spec.render(), encoding="utf-8")
        stats = corpus_stats(path)
        if stats["specs"] != [f"{spec.name}@{spec.hash[:12]}"]:
            raise entry.error(
                "generating documents",
                ValueError(f"the corpus holds documents of {stats['specs']}, not one spec"),
            )
        return {"corpus": "corpus.jsonl", "sha256": sha256_file(path), **stats}
