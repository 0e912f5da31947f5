"""An experiment expanded into stages: each arm, at each seed, walks its list of steps.

An arm's steps are ``generate, filters, midtrain, aft, evals`` unless it lists ``stages:``
itself. The walk keeps the arm's latest artifact of each type (its ``spec`` first, after the
arm's variants); a shorthand step reads and replaces those (``midtrain`` trains the latest
model on the latest corpus), and a stage of any registered kind placed in the list gets each
slot filled with the latest artifact of the slot's type (or the step its ``inputs`` names),
and hands its own artifact on. A step with nothing to do for an arm is skipped (a control
arm has no corpus to midtrain on).

Each arm is walked twice per seed. The first, *dry*, walk has no model yet: it makes what
needs none (specs, corpora, chats made from the spec) and skips the rest, and everything
downstream of a skipped step. From every arm's dry walk the base model is built (the
``tiny-base`` tokenizer reads every corpus and AFT set, stage-made ones included); the second
walk starts from the base and makes every step, finding the dry walk's stages again by their
fingerprints. Stages in ``across_arms`` come last: their starred slots (``eval*``) receive
every arm's artifacts of that type.
Identical stages (same kind, options and inputs) are one node, whatever asked for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from msmkit.experiment import Arm, StageRef, StageStep
from msmkit.run import inputs
from msmkit.run.across import add_across
from msmkit.run.graph import ArmInfo, Chain, EvalStep, Graph, Loc, Node, Source, artifact_of
from msmkit.run.steps import add_eval, add_training, eval_names
from msmkit.stagekit import Upstream

NAMED_STEPS = ("spec", "base", "generate", "filters", "midtrain", "aft")


@dataclass
class ArmWalk:
    """One arm at one seed, partway through its steps."""

    i: int
    arm: Arm
    seed: int
    steps: list[Any]
    chain: Chain
    latest: dict[str, Source] = field(default_factory=dict)  # artifact -> latest source
    made: dict[str, list[Source]] = field(default_factory=dict)  # artifact -> all, in order
    named: dict[str, Source] = field(default_factory=dict)  # step name -> its output
    aft_file: Upstream | None = None
    pos: int = 0
    dry: bool = False  # the walk before the base model exists: makes only what needs none
    unknown: set[str] = field(default_factory=set)  # artifacts a skipped step would have made

    def put(self, artifact: str, source: Source, name: str | None = None) -> None:
        self.latest[artifact] = source
        self.made.setdefault(artifact, []).append(source)
        if name:
            self.named[name] = source
        if isinstance(source, Node) and source not in self.chain.steps:
            self.chain.steps.append(source)


class Expander:
    def __init__(self, graph: Graph) -> None:
        self.g = graph
        self.exp = graph.exp

    def run(self) -> Graph:
        from msmkit.run.matching import match_groups

        for i, arm in enumerate(self.exp.arms):
            self.g.arms[arm.name] = self._arm_info(i, arm)
        self.groups = match_groups(self.g)
        for seed in self.exp.all_seeds():
            dry = [self._start(i, arm, seed, dry=True) for i, arm in enumerate(self.exp.arms)]
            for walk in dry:
                self._walk(walk)
            self.dry = {walk.arm.name: walk for walk in dry}
            corpora = [c for w in dry for c in w.made.get("corpus", [])]
            chats = [c for w in dry for c in w.made.get("chats", [])]
            chats += [w.aft_file for w in dry if w.aft_file is not None]
            base = inputs.base_source(self.g, seed, corpora, chats)
            for i, arm in enumerate(self.exp.arms):
                walk = self._start(i, arm, seed)
                walk.put("model", base, "base")
                self._walk(walk)
                walk.chain.model = walk.latest.get("model")
                self.g.arms[walk.arm.name].chains.append(walk.chain)
        for k, step in enumerate(self.exp.across_arms):
            add_across(self.g, k, step)
        from msmkit.run.contrasts import resolve_pairs

        self.g.pairs = resolve_pairs(self.g)
        return self.g

    # ------------------------------------------------------------------ arms
    def _arm_info(self, i: int, arm: Arm) -> ArmInfo:
        info = ArmInfo(arm, axes=dict(self.g.ef.axes.get(arm.name, {})))
        if arm.spec is None:
            return info
        from msmkit.variants import apply_variant

        spec = self._load_spec(i, arm.spec)
        for j, ref in enumerate(arm.variants):
            entry = self.g.entry("variants", ref.name, ("arms", i, "variants", j, "name"))
            opts = self.g.options(entry, ref.options, ("arms", i, "variants", j, "options"))
            spec = apply_variant(entry, spec, opts)
            info.note(entry)
        info.spec = spec
        return info

    def _load_spec(self, i: int, ref: str) -> Any:
        from msmkit.errors import SpecError
        from msmkit.naming import looks_like_path
        from msmkit.spec import load_spec

        try:
            return load_spec(self.g.ef.resolve(ref) if looks_like_path(ref) else ref)
        except SpecError as exc:
            if exc.path is not None:  # the spec file itself is broken: its error says where
                raise
            raise self.g.error(("arms", i, "spec"), exc.message, exc.hint) from None

    def _start(self, i: int, arm: Arm, seed: int, *, dry: bool = False) -> ArmWalk:
        steps = self.exp.steps_for(arm)
        walk = ArmWalk(
            i, arm, seed, steps, Chain(seed), dry=dry, unknown={"model"} if dry else set()
        )
        if not dry:
            self._check_steps(walk)
        info = self.g.arms[arm.name]
        if info.spec is not None:
            from msmkit.stages.spec import spec_options

            node = self.g.add(
                "spec",
                spec_options(info.spec),
                {},
                arm=arm.name,
                role="spec",
                where=("arms", i, "spec"),
            )
            node.estimate.artifact = info.spec
            walk.chain.spec = node
            walk.put("spec", node, "spec")
        walk.aft_file = inputs.aft_file(self.g, i, arm)
        if walk.aft_file is not None:  # the AFT set, for steps before aft (a size subset)
            walk.put("chats", walk.aft_file, "aft-data")
        else:
            self._early_aft_stage(walk)
        return walk

    def _early_aft_stage(self, walk: ArmWalk) -> None:
        """``aft.data: {stage: ...}`` made up front when it needs nothing but the spec, so
        steps before ``aft`` (a subset, a mix) can read it."""
        aft = self.exp.aft_for(walk.arm)
        if aft is None or not isinstance(aft.data, StageRef):
            return
        where = (*inputs.where(self.g, walk.i, walk.arm, "aft"), "data")
        kind = self.g.entry("stages", aft.data.stage, (*where, "stage")).component
        needs = {a for s, a in dict(kind.consumes).items() if not s.endswith("*")}
        if needs <= set(walk.latest):
            node = self._plugin_stage(walk, aft.data, where, wants="chats")
            if node is not None:
                walk.put("chats", node, "aft-data")

    def _check_steps(self, walk: ArmWalk) -> None:
        where = self._steps_loc(walk)
        seen: set[str] = set()
        for k, step in enumerate(walk.steps):
            name = step if isinstance(step, str) else step.name
            if name is None:
                continue
            if name in seen:
                raise self.g.error(
                    (*where, k), f"two steps of arm '{walk.arm.name}' are named '{name}'"
                )
            seen.add(name)
            if isinstance(step, StageStep) and name in NAMED_STEPS:
                raise self.g.error(
                    (*where, k, "name"),
                    f"'{name}' is the name of a built-in step",
                    hint="choose another name",
                )

    def _steps_loc(self, walk: ArmWalk) -> Loc:
        if walk.arm.stages is not None:
            return ("arms", walk.i, "stages")
        return ("defaults", "stages")

    def _walk(self, walk: ArmWalk) -> None:
        while walk.pos < len(walk.steps):
            step = walk.steps[walk.pos]
            if isinstance(step, str):
                getattr(self, f"_step_{step}")(walk)
            else:
                loc = (*self._steps_loc(walk), walk.pos)
                self._stage_step(walk, step, loc)
            walk.pos += 1

    def _skip(self, walk: ArmWalk, produces: str) -> None:
        """In the dry walk: this step needs what is not known yet, so what it would make is
        not known either (and a later step that reads it is skipped too)."""
        walk.latest.pop(produces, None)
        walk.unknown.add(produces)

    # ------------------------------------------------------------------ shorthand steps
    def _step_generate(self, walk: ArmWalk) -> None:
        spec = walk.latest.get("spec")
        listed = walk.arm.stages is not None or self.exp.defaults.stages is not None
        if spec is None or (self.exp.midtrain_for(walk.arm) is None and not listed):
            return  # nothing would train on the documents (an AFT-only arm's spec feeds AFT)
        arm = walk.arm
        info = self.g.arms[arm.name]
        ref = self.exp.generate_for(arm)
        where = inputs.where(self.g, walk.i, arm, "generate")
        gentry = self.g.entry("generators", ref.name, (*where, "name"))
        gopts = self.g.options(gentry, ref.options, (*where, "options"))
        info.note(gentry)
        known = self.g.estimate_of(spec).artifact  # the Spec, when known before running
        title = _spec_title(known, spec)
        stage_kind = getattr(gentry.component, "stage_kind", None)
        if stage_kind is not None:  # a generator that runs as its own stage kind (llm)
            make = gentry.component.stage_options
            sopts = gentry.call("planning", make, gopts, self.g.ef.base_dir)
            kentry = self.g.entry("stages", stage_kind, where)
            self.g.validate_kind(kentry, sopts, (*where, "options"))
            model = getattr(gopts, "model", gentry.name)
            label = f"generate {title} (llm {model})"
            node = self.g.add(
                stage_kind,
                sopts,
                {"spec": spec},
                arm=arm.name,
                role="corpus",
                where=where,
                label=label,
            )
        else:
            from msmkit.stages.corpus import CorpusOptions

            est = None
            if known is not None:
                est = gentry.call("planning", gentry.component.plan, known, gopts)
            options = CorpusOptions(
                generator=gentry.name,
                generator_version=str(getattr(gentry.component, "version", "0")),
                generator_options=gopts.model_dump(mode="json"),
                items=est.items if est else 0,
                tokens=est.tokens if est else 0,
            )
            node = self.g.add(
                "corpus",
                options,
                {"spec": spec},
                arm=arm.name,
                role="corpus",
                where=where,
                label=f"generate {title} ({gentry.name})",
            )
        walk.chain.corpus = node
        walk.put("corpus", node, "generate")

    def _step_filters(self, walk: ArmWalk) -> None:
        if "corpus" not in walk.latest:
            return
        where = inputs.where(self.g, walk.i, walk.arm, "filters")
        for k, ref in enumerate(self.exp.filters_for(walk.arm)):
            node = self._plugin_stage(walk, ref, (*where, k), wants="corpus")
            walk.chain.filters.append(node)
            walk.put("corpus", node)
        if walk.chain.filters:
            walk.named["filters"] = walk.chain.filters[-1]

    def _step_midtrain(self, walk: ArmWalk) -> None:
        mt = self.exp.midtrain_for(walk.arm)
        if mt is None:
            return
        if walk.dry:
            return self._skip(walk, "model")
        where = inputs.where(self.g, walk.i, walk.arm, "midtrain")
        corpus, source = walk.latest.get("corpus"), None
        if mt.corpus is not None:
            corpus, source = inputs.external_corpus(self.g, mt.corpus, where)
        if corpus is None:
            return
        what = _spec_title(self.g.arms[walk.arm.name].spec, walk.latest.get("spec"))
        if source is not None:
            what = source["path"].rstrip("/").rsplit("/", 1)[-1]
        corpus = self._matched(walk, "corpus", corpus)
        node = add_training(
            self.g,
            walk,
            "midtrain",
            mt,
            where,
            {"model": walk.latest["model"], "corpus": corpus},
            f"midtrain on {what}",
            corpus_source=source,
        )
        walk.chain.midtrain = node
        walk.put("model", node, "midtrain")

    def _step_aft(self, walk: ArmWalk) -> None:
        aft = self.exp.aft_for(walk.arm)
        if aft is None:
            return
        where = inputs.where(self.g, walk.i, walk.arm, "aft")
        chats = walk.latest.get("chats")
        name = None
        if chats is None and "chats" not in walk.unknown and isinstance(aft.data, StageRef):
            chats = self._plugin_stage(walk, aft.data, (*where, "data"), wants="chats")
            if chats is None:  # dry walk: it reads what is not known yet
                return self._skip(walk, "model")
            walk.put("chats", chats)
            name = aft.data.stage
        if walk.dry:
            return self._skip(walk, "model")
        if chats is None:
            chats = walk.aft_file
        if chats is None:
            raise self.g.error(
                where,
                f"arm '{walk.arm.name}' has AFT but no demonstrations",
                hint="set aft.data (a JSONL file, a bundled set, or {stage: ...}), or put a "
                "stage that makes chats before aft in the arm's stages",
            )
        if name is None:
            name = chats.label if isinstance(chats, Node) else chats.path("data").name
        chats = self._matched(walk, "chats", chats)
        if self.exp.eval.before_aft:
            self._evals(walk, phase="before_aft")
        node = add_training(
            self.g,
            walk,
            "aft",
            aft,
            where,
            {"model": walk.latest["model"], "data": chats},
            f"AFT on {name}",
        )
        walk.chain.aft = node
        walk.put("model", node, "aft")

    def _matched(self, walk: ArmWalk, what: str, own: Source) -> Source:
        """``own``, or its token-matched cut when the arm is in a match group."""
        from msmkit.run.matching import apply_match

        node = apply_match(self.g, self.groups, self.dry, walk, what, own)
        if node is not own:
            walk.put(what, node)
        return node

    def _step_evals(self, walk: ArmWalk) -> None:
        if walk.dry:
            return self._skip(walk, "eval")
        later = self._model_steps_after(walk)
        self._evals(walk, phase="final" if not later else f"before_{later[0]}")

    def _evals(self, walk: ArmWalk, *, phase: str) -> None:
        refs = self.exp.evals_for(walk.arm)
        where = inputs.where(self.g, walk.i, walk.arm, "evals")
        names = eval_names(self.g, refs, where, walk.arm.name)
        model = walk.latest["model"]
        info = self.g.arms[walk.arm.name]
        system = info.spec.text() if walk.arm.in_context and info.spec is not None else None
        for k, (ref, name) in enumerate(zip(refs, names, strict=True)):
            node = add_eval(self.g, ref, (*where, k), model, walk.arm.name, info, system)
            task = node.options.task  # the resolved name (an Inspect file task: its path)
            walk.chain.eval_steps.append(EvalStep(name, task, phase, node, dict(ref.args)))
            walk.put("eval", node)

    def _model_steps_after(self, walk: ArmWalk) -> list[str]:
        """Steps after this one that will hand on a new model."""
        out = []
        for step in walk.steps[walk.pos + 1 :]:
            if step == "midtrain" and self.exp.midtrain_for(walk.arm) is not None:
                if walk.arm.spec is not None or self.exp.midtrain_for(walk.arm).corpus:
                    out.append("midtrain")
            elif step == "aft" and self.exp.aft_for(walk.arm) is not None:
                out.append("aft")
            elif isinstance(step, StageStep):
                kind = self.g.entry("stages", step.stage, self._steps_loc(walk)).component
                if kind.produces == "model":
                    out.append(step.name or kind.name)
        return out

    # ------------------------------------------------------------------ any kind
    def _stage_step(self, walk: ArmWalk, step: StageStep, loc: Loc) -> None:
        node = self._plugin_stage(walk, step, loc, wants=None)
        if node is None:  # dry walk: it reads what is not known yet
            kind = self.g.entry("stages", step.stage, (*loc, "stage")).component
            self._skip(walk, kind.produces)
            if step.name:
                walk.unknown.add(f"step:{step.name}")
            return
        name = step.name or node.kind.name
        walk.put(node.produces, node, name)
        if node.produces == "eval":
            later = self._model_steps_after(walk)
            phase = "final" if not later else f"before_{later[0]}"
            walk.chain.eval_steps.append(EvalStep(name, node.kind.name, phase, node))
        if node.produces == "model":
            walk.chain.model = node

    def _plugin_stage(
        self, walk: ArmWalk, ref: StageRef, where: Loc, wants: str | None
    ) -> Node | None:
        """A stage of ``ref``'s kind, its slots filled from the arm's walk so far (None in
        the dry walk when a slot needs what is not known yet)."""
        entry = self.g.entry("stages", ref.stage, (*where, "stage"))
        kind = entry.component
        if wants is not None and kind.produces != wants:
            raise self.g.error(
                (*where, "stage"),
                f"stage kind '{kind.name}' produces {kind.produces}, but {wants} is needed here",
            )
        given = getattr(ref, "inputs", {}) or {}
        slots = self._fill(walk, kind, given, where)
        if slots is None:
            return None
        options = self.g.options(entry, ref.options, (*where, "options"))
        self.g.validate_kind(entry, options, (*where, "options"))
        self.g.arms[walk.arm.name].note(entry)
        return self.g.add(
            kind.name, options, slots, arm=walk.arm.name, role=kind.produces, where=where
        )

    def _fill(
        self, walk: ArmWalk, kind: Any, given: dict[str, str], where: Loc
    ) -> dict[str, Source] | None:
        consumes = dict(kind.consumes)
        for slot in given:
            if slot not in consumes:
                raise self.g.error(
                    (*where, "inputs", slot),
                    f"stage kind '{kind.name}' has no slot '{slot}'",
                    hint=f"its slots: {', '.join(consumes) or 'none'}",
                )
        slots: dict[str, Source] = {}
        for slot, artifact in consumes.items():
            if slot.endswith("*"):
                stem = slot.rstrip("*")
                for n, source in enumerate(_distinct(walk.made.get(artifact, []))):
                    slots[f"{stem}-{n}"] = source
                continue
            if walk.dry and (artifact in walk.unknown or f"step:{given.get(slot)}" in walk.unknown):
                return None
            if slot in given:
                source = walk.named.get(given[slot])
                if source is None and walk.dry and given[slot] in NAMED_STEPS:
                    return None  # a built-in step the dry walk skipped (midtrain, aft)
                if source is None:
                    raise self.g.error(
                        (*where, "inputs", slot),
                        f"no step named '{given[slot]}' comes before this one in arm "
                        f"'{walk.arm.name}'",
                        hint="name a built-in step (spec, base, generate, filters, midtrain, "
                        "aft) or an earlier stage's name",
                    )
                if artifact_of(source) != artifact:
                    raise self.g.error(
                        (*where, "inputs", slot),
                        f"step '{given[slot]}' makes a {artifact_of(source)}; slot '{slot}' "
                        f"of '{kind.name}' needs a {artifact}",
                    )
            else:
                source = walk.latest.get(artifact)
                if source is None:
                    raise self.g.error(
                        (*where, "stage"),
                        f"stage kind '{kind.name}' needs a {artifact} (slot '{slot}'), and "
                        f"nothing before it in arm '{walk.arm.name}' makes one",
                        hint="move it after a step that makes one, or name one in inputs",
                    )
            slots[slot] = source
        return slots


def _distinct(sources: list[Source]) -> list[Source]:
    out: list[Source] = []
    for source in sources:
        if source not in out:
            out.append(source)
    return out


def _spec_title(spec: Any, source: Source | None) -> str:
    """How labels name the arm's spec: its name and what variants did, or the stage that
    made it."""
    if isinstance(source, Node) and source.kind.name != "spec":
        return f"the spec from {source.label}"
    if spec is None:
        return "?"
    extra = f" [{'; '.join(spec.lineage)}]" if spec.lineage else ""
    return f"{spec.name}{extra}"


def expand(graph: Graph) -> Graph:
    return Expander(graph).run()


def build_graph(ef: Any, store: Any, *, quick: bool = False) -> Graph:
    """Expand and validate an experiment (cheap; nothing is generated or trained). With
    ``quick``, checks that need heavy imports wait for :meth:`Graph.full_check`."""
    return expand(Graph(ef, store, quick=quick))
