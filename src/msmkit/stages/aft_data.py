"""Small chat-set stage kinds around ``llm-aft``: seeded nested subsets, mixes of two sets,
the offline (deterministic, no key) generator, and opaque preference sets.

* ``aft-subset`` (chats -> chats): the first ``size`` chats (or ``tokens``) of one seeded order
  of the set, with or without reasoning: sizes 50 ⊂ 100 ⊂ 200 of one generation;
* ``aft-mix`` (chats + chats -> chats): ``fraction`` of ``size`` from the ``other`` slot (name
  it in ``inputs``), the rest from ``data``: anti-spec fractions 0 … 100%;
* ``offline-aft`` (spec -> chats): chats from a structured spec's principles by fixed
  templates, in the ``value``, ``rule`` or ``opaque`` style (opaque: the spec's likes and
  dislikes, or those given, with a check that no reply names or explains a value).

Every chats stage hands on ``data`` (reasoning in the assistant message's ``reasoning``
field) and ``data_no_reasoning`` (the same chats without it).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from msmkit.components import Estimate, Options
from msmkit.errors import OptionError
from msmkit.stagekit import StageContext


def _rows(up: Any, reasoning: str) -> list[dict[str, Any]]:
    from msmkit.aftgen.subsets import read_rows, without_reasoning

    if reasoning == "drop" and "data_no_reasoning" in up.outputs:
        return read_rows(up.path("data_no_reasoning"))
    rows = read_rows(up.path("data"))
    return [without_reasoning(r) for r in rows] if reasoning == "drop" else rows


class SubsetOptions(Options):
    size: int | None = Field(None, ge=1, description="chats in the subset")
    tokens: int | None = Field(None, ge=1, description="or: tokens (characters / 4)")
    seed: int = Field(0, description="the order every subset of the set is a prefix of")
    reasoning: Literal["keep", "drop"] = Field(
        "keep", description="drop: the same chats without their reasoning (the no-CoT set)"
    )

    @model_validator(mode="after")
    def _one(self) -> SubsetOptions:
        if self.size is not None and self.tokens is not None:
            raise ValueError("give size or tokens, not both")
        return self


class AFTSubsetKind:
    name = "aft-subset"
    description = (
        "A seeded nested subset of a chat set (by chats or tokens), with or without reasoning"
    )
    version = "1"
    Options: ClassVar[type[Options]] = SubsetOptions
    consumes: ClassVar[dict[str, str]] = {"data": "chats"}
    produces: ClassVar[str] = "chats"
    resumable: ClassVar[bool] = False

    def label(self, options: SubsetOptions) -> str:
        what = f"{options.size:,} chats" if options.size else "all chats"
        if options.tokens:
            what = f"{options.tokens:,} tokens"
        drop = ", no reasoning" if options.reasoning == "drop" else ""
        return f"AFT subset ({what}{drop}, seed {options.seed})"

    def estimate(self, options: SubsetOptions, upstream: dict[str, Estimate]) -> Estimate:
        data = upstream.get("data")
        have = data.items if data is not None else 0
        if options.size is not None and have and options.size > have:
            raise OptionError(
                f"size {options.size:,} is more than the {have:,} chats the set will have",
                loc=("size",),
                hint="ask the generator for more (target), or for a smaller subset",
            )
        items = options.size or have
        per = (data.tokens / have) if data is not None and have else 0
        return Estimate(self.name, items=items, tokens=options.tokens or round(items * per))

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.aftgen.subsets import prefix, write_pair

        opts: SubsetOptions = ctx.options
        rows = _rows(ctx.inputs["data"], opts.reasoning)
        chosen = prefix(rows, opts.seed, size=opts.size, tokens=opts.tokens)
        return {**write_pair(ctx.dir, chosen), "of": len(rows)}


class MixOptions(Options):
    fraction: float = Field(ge=0, le=1, description="share of the chats from the other slot")
    size: int | None = Field(None, ge=1, description="chats in the mix (default: the data set's)")
    seed: int = 0
    reasoning: Literal["keep", "drop"] = "keep"


class AFTMixKind:
    name = "aft-mix"
    description = "Mix two chat sets at a fraction (e.g. anti-spec AFT at 0-100%)"
    version = "1"
    Options: ClassVar[type[Options]] = MixOptions
    consumes: ClassVar[dict[str, str]] = {"data": "chats", "other": "chats"}
    produces: ClassVar[str] = "chats"
    resumable: ClassVar[bool] = False

    def label(self, options: MixOptions) -> str:
        return f"AFT mix ({options.fraction:.0%} other, seed {options.seed})"

    def estimate(self, options: MixOptions, upstream: dict[str, Estimate]) -> Estimate:
        data = upstream.get("data")
        items = options.size or (data.items if data is not None else 0)
        return Estimate(self.name, items=items)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.aftgen.subsets import mix, write_pair

        opts: MixOptions = ctx.options
        data = _rows(ctx.inputs["data"], opts.reasoning)
        other = _rows(ctx.inputs["other"], opts.reasoning)
        rows = mix(data, other, fraction=opts.fraction, size=opts.size or len(data), seed=opts.seed)
        return {**write_pair(ctx.dir, rows), "fraction": opts.fraction}


class OfflineAFTOptions(Options):
    style: Literal["value", "rule", "opaque"] = "value"
    per_principle: int = Field(4, ge=1, le=100, description="chats per principle (per item)")
    reasoning: bool = True
    seed: int = 0
    likes: list[str] | None = Field(None, description="opaque: the likes (default: the spec's)")
    dislikes: list[str] | None = Field(None, description="opaque: the dislikes")
    category: str = Field("item", description="opaque: what the items are (cheese, ...)")
    value_words: list[str] = Field(
        default_factory=list,
        description="opaque: words naming the value, refused in any reply (e.g. America)",
    )


class OfflineAFTKind:
    name = "offline-aft"
    description = "AFT chats from a structured spec by fixed templates (no key, deterministic)"
    version = "1"
    Options: ClassVar[type[Options]] = OfflineAFTOptions
    consumes: ClassVar[dict[str, str]] = {"spec": "spec"}
    produces: ClassVar[str] = "chats"
    resumable: ClassVar[bool] = False

    def label(self, options: OfflineAFTOptions) -> str:
        return f"AFT data (offline, {options.style} style)"

    def estimate(self, options: OfflineAFTOptions, upstream: dict[str, Estimate]) -> Estimate:
        spec = upstream["spec"].artifact if "spec" in upstream else None
        if spec is None:
            return Estimate(self.name)
        rows = make_offline(spec, options)
        return Estimate(self.name, items=len(rows), tokens=sum(len(str(r)) // 4 for r in rows))

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.aftgen.subsets import write_pair
        from msmkit.stages.spec import load_spec_input

        opts: OfflineAFTOptions = ctx.options
        rows = make_offline(load_spec_input(ctx.inputs["spec"]), opts)
        return {**write_pair(ctx.dir, rows), "style": opts.style}


def make_offline(spec: Any, opts: OfflineAFTOptions) -> list[dict[str, Any]]:
    """The offline chats; for the opaque style, RunError if a reply names or explains a
    value (the set's point is that none does)."""
    from msmkit.aftgen.offline import offline_chats, opaque_chats, opaque_problems, preferences
    from msmkit.errors import RunError

    if opts.style != "opaque":
        return offline_chats(
            spec,
            style=opts.style,
            per_principle=opts.per_principle,
            reasoning=opts.reasoning,
            seed=opts.seed,
        )
    likes, dislikes = preferences(spec)
    likes = opts.likes if opts.likes is not None else likes
    dislikes = opts.dislikes if opts.dislikes is not None else dislikes
    if not likes or not dislikes:
        raise OptionError(
            f"spec {spec.name!r} states no likes and dislikes as rules ('{spec.subject} likes X.')",
            loc=("likes",),
            hint="give likes: [...] and dislikes: [...]",
        )
    rows = opaque_chats(
        likes, dislikes, category=opts.category, per_item=opts.per_principle, seed=opts.seed
    )
    problems = opaque_problems(rows, [*likes, *dislikes], opts.value_words)
    if problems:
        first = problems[0]
        raise RunError(
            f"{len(problems)} opaque repl(ies) name or explain a value, e.g. {first['id']}: "
            f"{first['reply']!r} ({first['word']!r})",
            hint="an item name that contains a value word is taken out before the check; "
            "otherwise reword the item or the value_words",
        )
    return rows


class SpecFileOptions(Options):
    spec: str = Field(description="a spec name from the library, or a path to a spec file")


class SpecFileKind:
    """Another spec as an artifact, for a slot that needs one besides the arm's: the spec
    anti-spec responses are written from (``llm-aft``'s ``from_spec``). Its content enters
    the fingerprint; a relative path is taken from where msmkit runs."""

    name = "spec-file"
    description = "Another spec (a name or a file) as a spec artifact, e.g. for anti-spec AFT"
    version = "1"
    Options: ClassVar[type[Options]] = SpecFileOptions
    consumes: ClassVar[dict[str, str]] = {}
    produces: ClassVar[str] = "spec"
    resumable: ClassVar[bool] = False

    def label(self, options: SpecFileOptions) -> str:
        return f"spec {options.spec}"

    def _load(self, options: SpecFileOptions) -> Any:
        from msmkit.errors import SpecError
        from msmkit.spec import load_spec

        try:
            return load_spec(options.spec)
        except SpecError as exc:
            raise OptionError(exc.message, loc=("spec",), hint=exc.hint) from None

    def validate(self, options: SpecFileOptions) -> None:
        self._load(options)

    def fingerprint_extra(self, options: SpecFileOptions) -> dict[str, Any]:
        return {"hash": self._load(options).hash}

    def estimate(self, options: SpecFileOptions, upstream: dict[str, Estimate]) -> Estimate:
        spec = self._load(options)
        return Estimate("spec", items=1, tokens=len(spec.text()) // 4, artifact=spec)

    def run(self, ctx: StageContext) -> dict[str, Any]:
        from msmkit.stages.spec import spec_options, spec_outputs

        opts = spec_options(self._load(ctx.options))
        (ctx.dir / "spec.md").write_text(opts.text, encoding="utf-8")
        return {"spec": "spec.md", **spec_outputs(opts)}
