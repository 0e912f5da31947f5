"""Sizing a training set: nested doses of a corpus and token matching across arms.

* ``corpus-subset`` (corpus -> corpus): the first ``tokens`` (or ``docs``) of one seeded order
  of a corpus, so with one seed the 1M-token dose is inside the 2M one (dose screening).
* ``corpus-match`` / ``chats-match``: a group of arms trained on the same amount. Each arm's
  stage consumes its own set and every other member's (``group*``), and keeps the first part
  of its own seeded order that reaches the group's smallest size, by tokens or by samples.
  The size it matched to and what it kept are outputs (the manifest records them per arm).

Sets are cut with :mod:`msmkit.subsets` (tokens: characters / 4, the planner's estimate; a
tokenizer's count differs by a few percent, equally for every arm).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from msmkit.components import Estimate, Options
from msmkit.stagekit import StageContext
from msmkit.subsets import prefix, read_rows, row_tokens, write_rows


def _size(rows: list[dict[str, Any]], by: str) -> int:
    return len(rows) if by == "samples" else sum(row_tokens(r) for r in rows)


class SubsetOptions(Options):
    tokens: int | None = Field(None, ge=1, description="the dose, in tokens")
    docs: int | None = Field(None, ge=1, description="or the dose, in documents")
    seed: int = Field(0, ge=0, description="the order every dose of a corpus is a prefix of")

    @model_validator(mode="after")
    def _one(self) -> SubsetOptions:
        if (self.tokens is None) == (self.docs is None):
            raise ValueError("give tokens or docs (one of them)")
        return self


class CorpusSubsetKind:
    name = "corpus-subset"
    description = "A seeded nested dose of a corpus (by tokens or documents)"
    version = "1"
    Options: ClassVar[type[Options]] = SubsetOptions
    consumes: ClassVar[dict[str, str]] = {"corpus": "corpus"}
    produces: ClassVar[str] = "corpus"
    resumable: ClassVar[bool] = False

    def label(self, options: SubsetOptions) -> str:
        amount = f"{options.tokens:,} tokens" if options.tokens else f"{options.docs:,} docs"
        return f"dose: {amount} (seed {options.seed})"

    def estimate(self, options: SubsetOptions, upstream: dict[str, Estimate]) -> Estimate:
        up = upstream.get("corpus")
        tokens = options.tokens or (up.tokens if up else 0)
        if up is not None and up.tokens and options.tokens and options.tokens > up.tokens:
            note = f"the corpus is planned at ~{up.tokens:,} tokens, below this dose"
            return Estimate(self.name, tokens=tokens, notes=[note])
        return Estimate(self.name, items=options.docs or 0, tokens=tokens)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        opts: SubsetOptions = ctx.options
        rows = read_rows(ctx.inputs["corpus"].path("corpus"))
        kept = prefix(
            rows,
            opts.seed,
            size=opts.docs,
            tokens=opts.tokens,
            what="the corpus",
            salt="dose",
            unit="documents",
        )
        write_rows(ctx.dir / "corpus.jsonl", kept)
        tokens = sum(row_tokens(r) for r in kept)
        ctx.note(f"{ctx.label}: kept {len(kept):,} of {len(rows):,} documents, ~{tokens:,} tokens")
        return {"corpus": "corpus.jsonl", "documents": len(kept), "tokens": tokens}


class MatchOptions(Options):
    by: Literal["tokens", "samples"] = "tokens"
    seed: int = Field(0, ge=0)


class _MatchKind:
    data: ClassVar[str]
    output: ClassVar[str]
    version = "1"
    Options: ClassVar[type[Options]] = MatchOptions
    produces: ClassVar[str]
    resumable: ClassVar[bool] = False

    def label(self, options: MatchOptions) -> str:
        return f"match {self.produces} size across arms (by {options.by})"

    def estimate(self, options: MatchOptions, upstream: dict[str, Estimate]) -> Estimate:
        sizes = [e.tokens if options.by == "tokens" else e.items for e in upstream.values()]
        known = [s for s in sizes if s]
        smallest = min(known) if known else 0
        if options.by == "tokens":
            return Estimate(self.name, tokens=smallest)  # type: ignore[attr-defined]
        return Estimate(self.name, items=smallest)  # type: ignore[attr-defined]

    def run(self, ctx: StageContext) -> dict[str, Any]:
        opts: MatchOptions = ctx.options
        own = read_rows(ctx.inputs[self.data].path(self.output))
        sizes = {self.data: _size(own, opts.by)}
        for slot, up in ctx.inputs.items():
            if slot.startswith("group-"):
                sizes[slot] = _size(read_rows(up.path(self.output)), opts.by)
        target = min(sizes.values())
        kept = prefix(
            own,
            opts.seed,
            size=target if opts.by == "samples" else None,
            tokens=target if opts.by == "tokens" else None,
            salt=f"match-{self.produces}",
        )
        write_rows(ctx.dir / "data.jsonl", kept)
        size = _size(kept, opts.by)
        return {
            self.output: "data.jsonl",
            "matched_to": target,
            "by": opts.by,
            "own": sizes[self.data],
            "kept": size,
            "items": len(kept),
            "group": len(sizes),
        }


class CorpusMatchKind(_MatchKind):
    name = "corpus-match"
    description = "A corpus cut to the smallest of its group's corpora (token matching)"
    consumes: ClassVar[dict[str, str]] = {"corpus": "corpus", "group*": "corpus"}
    produces: ClassVar[str] = "corpus"
    data = "corpus"
    output = "corpus"


class ChatsMatchKind(_MatchKind):
    name = "chats-match"
    description = "An AFT set cut to the smallest of its group's sets (token matching)"
    consumes: ClassVar[dict[str, str]] = {"data": "chats", "group*": "chats"}
    produces: ClassVar[str] = "chats"
    data = "data"
    output = "data"
