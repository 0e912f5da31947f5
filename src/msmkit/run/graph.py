"""An experiment expanded into a graph of stages, everything validated on the way.

For each arm (and each seed): spec + variants -> ``corpus`` -> filters -> ``midtrain`` ->
``aft`` -> one ``eval`` per task, on a base model that is a local folder or hub id (an input
from outside), a ``tiny-base`` stage, or a plugin's stage. Every stage's fingerprint covers
its kind, options and the fingerprints of the stages it consumes, so arms (and experiments)
that ask for the same thing share one stage in the store.

Building the graph is the plan: it loads specs, applies variants, validates every
component's options (a backend's ``validate`` included) and every eval's task arguments and
generate settings, and reports any problem with the experiment file's line. Nothing runs.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from msmkit.components import Estimate
from msmkit.errors import (
    ConfigError,
    MsmkitError,
    OptionError,
    PrerequisiteError,
    SpecError,
    UnknownComponentError,
)
from msmkit.experiment import Arm, EvalRef, ExperimentFile, StageRef, TinyBase
from msmkit.jsonl import read_jsonl
from msmkit.naming import looks_like_path
from msmkit.registry import Entry, get_registry
from msmkit.run.modelref import ModelInput, resolve_base_model
from msmkit.run.store import StageDir, Store
from msmkit.stagekit import FileRef, Upstream, check_stage_kind, kind_label, stage_fingerprint
from msmkit.yamlfile import validation_error

Loc = tuple[Any, ...]


@dataclass
class Node:
    """One stage of the graph. ``id`` is its store folder name."""

    entry: Entry
    options: BaseModel
    slots: dict[str, Node | Upstream]
    key: str
    stage: StageDir
    label: str
    estimate: Estimate
    role: str
    arms: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.stage.name

    @property
    def kind(self) -> Any:
        return self.entry.component

    def content_key(self) -> str:
        return self.stage.content_key() if self.stage.record_path.exists() else self.key

    def slot_keys(self) -> dict[str, str]:
        return slot_keys(self.slots)


def slot_keys(slots: dict[str, Node | Upstream]) -> dict[str, str]:
    """What fills each slot, by key: a stage's content key, or an external input's key."""
    return {s: (v.content_key() if isinstance(v, Node) else v.key) for s, v in slots.items()}


@dataclass
class Chain:
    """One arm at one seed: the stages it is made of."""

    seed: int
    corpus: Node | None = None
    filters: list[Node] = field(default_factory=list)
    midtrain: Node | None = None
    aft: Node | None = None
    evals: dict[str, Node] = field(default_factory=dict)
    # ``eval.before_aft``: the same evals of the model before AFT (midtrained, or the base)
    evals_before_aft: dict[str, Node] = field(default_factory=dict)


@dataclass
class ArmInfo:
    arm: Arm
    spec: Any | None = None
    components: list[Entry] = field(default_factory=list)
    corpus: Node | None = None
    filters: list[Node] = field(default_factory=list)
    chains: list[Chain] = field(default_factory=list)
    aft_data: FileRef | None = None


class Graph:
    def __init__(self, ef: ExperimentFile, store: Store) -> None:
        self.ef = ef
        self.exp = ef.experiment
        self.store = store
        self.nodes: dict[str, Node] = {}
        self.arms: dict[str, ArmInfo] = {}
        self.base: ModelInput | None = None
        self._validated: set[str] = set()

    # ------------------------------------------------------------------ nodes
    def add(
        self,
        kind_name: str,
        options: BaseModel,
        slots: dict[str, Node | Upstream],
        *,
        arm: str,
        role: str,
        where: Loc,
        label: str | None = None,
    ) -> Node:
        entry = self._entry("stages", kind_name, (*where, "stage"))
        kind = entry.component
        key = stage_fingerprint(kind, options, slot_keys(slots))
        stage = self.store.stage(kind.name, key)
        if stage.name in self.nodes:
            node = self.nodes[stage.name]
            if arm not in node.arms:
                node.arms.append(arm)
            return node
        estimates = {s: v.estimate for s, v in slots.items() if isinstance(v, Node)}
        estimate = entry.call("estimating", kind.estimate, options, estimates)
        node = Node(
            entry=entry,
            options=options,
            slots=slots,
            key=key,
            stage=stage,
            label=label or kind_label(kind, options),
            estimate=estimate,
            role=role,
            arms=[arm],
        )
        self.nodes[node.id] = node
        return node

    def ordered(self) -> list[Node]:
        return list(self.nodes.values())  # insertion order is topological

    # ------------------------------------------------------------------ helpers
    def _entry(self, kind: str, name: str, loc: Loc) -> Entry:
        try:
            entry = get_registry(kind).entry(name)  # type: ignore[arg-type]
        except UnknownComponentError as exc:
            raise self.ef.error(loc, exc.message, exc.hint) from None
        if kind == "stages":
            try:
                check_stage_kind(entry.component)
            except TypeError as exc:
                raise entry.error("registering the stage kind", exc) from None
        return entry

    def _options(self, entry: Entry, raw: dict[str, Any], loc: Loc) -> BaseModel:
        try:
            return entry.component.Options.model_validate(raw)
        except ValidationError as exc:
            raise validation_error(exc, self.ef.path, self.ef.node, prefix=loc) from None

    def _option_error(self, exc: OptionError, loc: Loc) -> ConfigError:
        return self.ef.error((*loc, *exc.loc), exc.message, exc.hint)

    def _seed_note(self, seed: int) -> str:
        return f" (seed {seed})" if len(self.exp.all_seeds()) > 1 else ""

    def _where(self, i: int, arm: Arm, name: str) -> Loc:
        """Where a setting of arm ``i`` was written: in the arm, or in ``defaults``."""
        return ("arms", i, name) if getattr(arm, name) is not None else ("defaults", name)

    # ------------------------------------------------------------------ the build
    def build(self) -> Graph:
        exp = self.exp
        for i, arm in enumerate(exp.arms):
            self.arms[arm.name] = self._corpus_chain(i, arm)
        aft_inputs = {arm.name: self._aft_input(i, arm) for i, arm in enumerate(exp.arms)}
        for seed in exp.all_seeds():
            base = self._base(seed, aft_inputs)
            for i, arm in enumerate(exp.arms):
                info = self.arms[arm.name]
                chain = Chain(seed, corpus=info.corpus, filters=list(info.filters))
                self._model_chain(i, arm, chain, base, aft_inputs[arm.name])
                info.chains.append(chain)
        return self

    def _corpus_chain(self, i: int, arm: Arm) -> ArmInfo:
        info = ArmInfo(arm)
        if arm.spec is None:
            return info
        spec = self._load_spec(i, arm.spec)
        for j, ref in enumerate(arm.variants):
            entry = self._entry("variants", ref.name, ("arms", i, "variants", j, "name"))
            opts = self._options(entry, ref.options, ("arms", i, "variants", j, "options"))
            spec = _apply_variant(entry, spec, opts)
            info.components.append(entry)
        info.spec = spec
        gen_ref = self.exp.generate_for(arm)
        gwhere = self._where(i, arm, "generate")
        gentry = self._entry("generators", gen_ref.name, (*gwhere, "name"))
        gopts = self._options(gentry, gen_ref.options, (*gwhere, "options"))
        info.components.append(gentry)
        stage_kind = getattr(gentry.component, "stage_kind", None)
        if stage_kind is not None:  # a generator that runs as its own stage kind (llm)
            make = gentry.component.stage_options
            sopts = gentry.call("planning", make, spec, gopts, self.ef.base_dir)
            kentry = self._entry("stages", stage_kind, gwhere)
            self._validate_kind(kentry, sopts, (*gwhere, "options"))
            info.corpus = last = self.add(
                stage_kind, sopts, {}, arm=arm.name, role="corpus", where=gwhere
            )
            self._filters(i, arm, info, last)
            return info
        est = gentry.call("planning", gentry.component.plan, spec, gopts)
        from msmkit.stages.corpus import CorpusOptions

        options = CorpusOptions(
            spec_name=spec.name,
            spec_hash=spec.hash,
            spec_text=spec.render(),
            lineage=list(spec.lineage),
            generator=gentry.name,
            generator_version=str(getattr(gentry.component, "version", "0")),
            generator_options=gopts.model_dump(mode="json"),
            items=est.items,
            tokens=est.tokens,
        )
        info.corpus = last = self.add(
            "corpus", options, {}, arm=arm.name, role="corpus", where=gwhere
        )
        self._filters(i, arm, info, last)
        return info

    def _filters(self, i: int, arm: Arm, info: ArmInfo, last: Node) -> None:
        fwhere = self._where(i, arm, "filters")
        for k, ref in enumerate(self.exp.filters_for(arm)):
            last = self._plugin_stage(ref, (*fwhere, k), {"corpus": last}, "corpus", arm.name)
            info.filters.append(last)

    def _load_spec(self, i: int, ref: str) -> Any:
        from msmkit.spec import load_spec

        try:
            return load_spec(self.ef.resolve(ref) if looks_like_path(ref) else ref)
        except SpecError as exc:
            if exc.path is not None:  # the spec file itself is broken: its error says where
                raise
            raise self.ef.error(("arms", i, "spec"), exc.message, exc.hint) from None

    def _plugin_stage(
        self, ref: StageRef, where: Loc, slots: dict[str, Node | Upstream], wants: str, arm: str
    ) -> Node:
        """A plugin's stage in a place that needs ``wants`` out of it, fed ``slots``."""
        entry = self._entry("stages", ref.stage, (*where, "stage"))
        kind = entry.component
        if kind.produces != wants:
            raise self.ef.error(
                (*where, "stage"),
                f"stage kind '{kind.name}' produces {kind.produces}, but {wants} is needed here",
            )
        consumes = dict(kind.consumes)
        fixed = {s: a for s, a in consumes.items() if not s.endswith("*")}
        given = {
            s: (v.entry.component.produces if isinstance(v, Node) else v.artifact)
            for s, v in slots.items()
        }
        if fixed != given:
            have = ", ".join(f"{s}: {a}" for s, a in given.items()) or "nothing"
            want = ", ".join(f"{s}: {a}" for s, a in fixed.items()) or "nothing"
            raise self.ef.error(
                (*where, "stage"),
                f"stage kind '{kind.name}' consumes {want}; this place gives it {have}",
            )
        options = self._options(entry, ref.options, (*where, "options"))
        self._validate_kind(entry, options, (*where, "options"))
        return self.add(kind.name, options, slots, arm=arm, role=wants, where=where)

    def _validate_kind(self, entry: Entry, options: BaseModel, loc: Loc) -> None:
        validate = getattr(entry.component, "validate", None)
        if not callable(validate):
            return
        try:
            validate(options)
        except OptionError as exc:
            raise self._option_error(exc, loc) from None
        except ValidationError as exc:
            raise validation_error(exc, self.ef.path, self.ef.node, prefix=loc) from None
        except MsmkitError:
            raise
        except Exception as exc:
            raise entry.error("validating options", exc) from exc

    # -- AFT data and the base model
    def _aft_input(self, i: int, arm: Arm) -> Upstream | StageRef | None:
        aft = self.exp.aft_for(arm)
        if aft is None:
            return None
        where = (*self._where(i, arm, "aft"), "data")
        if isinstance(aft.data, StageRef):
            return aft.data
        from msmkit.resources import AFT_SETS, aft_set

        path = aft_set(aft.data) or self.ef.resolve(aft.data)
        if not path.is_file():
            raise self.ef.error(
                where,
                f"{aft.data!r} is neither a bundled AFT set nor an existing file ({path})",
                hint=f"bundled sets: {', '.join(AFT_SETS)}; or give a JSONL path",
            )
        ref = FileRef.of(path)
        self.arms[arm.name].aft_data = ref
        return Upstream("chats", ref.sha256, {"data": ref.path})

    def _base(self, seed: int, aft_inputs: dict[str, Any]) -> Node | Upstream:
        base = self.exp.base_model
        first = self.exp.arms[0].name
        if isinstance(base, str):
            if self.base is None:
                try:
                    self.base = resolve_base_model(base, self.ef.base_dir)
                except Exception as exc:
                    msg = getattr(exc, "message", str(exc))
                    raise self.ef.error(("base_model",), msg, getattr(exc, "hint", None)) from None
            name = self.base.model
            if self.base.revision and "@" in base:  # pinned by the user: loaders get it too
                name = f"{name}@{self.base.revision}"
            return Upstream("model", self.base.key, {"model": name})
        if isinstance(base, TinyBase):
            from msmkit.stages.tiny_base import TinyBaseOptions

            options = TinyBaseOptions(settings={"seed": seed, **base.tiny})
            entry = self._entry("stages", "tiny-base", ("base_model",))
            self._validate_kind(entry, options, ("base_model", "tiny"))
            slots: dict[str, Node | Upstream] = {}
            corpora = sorted(
                {a.corpus.id: a.corpus for a in self.arms.values() if a.corpus}.items()
            )
            for n, (_, node) in enumerate(corpora):
                slots[f"corpus-{n}"] = node
            datas = sorted(
                {u.key: u for u in aft_inputs.values() if isinstance(u, Upstream)}.items()
            )
            for n, (_, up) in enumerate(datas):
                slots[f"chats-{n}"] = up
            node = self.add(
                "tiny-base", options, slots, arm=first, role="base", where=("base_model",)
            )
            node.arms = [a.name for a in self.exp.arms]  # every arm starts from it
            return node
        kind = self._entry("stages", base.stage, ("base_model", "stage")).component
        fields = getattr(getattr(kind, "Options", None), "model_fields", {})
        if "seed" in fields and "seed" not in base.options:  # one base per seed, unless pinned
            base = base.model_copy(update={"options": {**base.options, "seed": seed}})
        node = self._plugin_stage(base, ("base_model",), {}, "model", first)
        node.arms = [a.name for a in self.exp.arms]
        return node

    # -- training and evals
    def _backend(self, ref: Any, where: Loc) -> tuple[Entry, BaseModel]:
        entry = self._entry("backends", ref.backend, (*where, "backend"))
        missing = [m for m in entry.component.requires if importlib.util.find_spec(m) is None]
        if missing:
            raise PrerequisiteError(
                f"training backend '{entry.name}' needs {', '.join(missing)}, not installed",
                hint="pip install 'msmkit[train]' (CPU: add -c constraints.txt)",
            )
        return entry, self._options(entry, ref.options, (*where, "options"))

    def _external_corpus(self, source: Any, where: Loc) -> tuple[Upstream, dict[str, Any]]:
        """A midtrain ``corpus:`` source as the corpus slot; its content ref is the key."""
        import hashlib
        import json

        from msmkit.training.sources import check_source, source_ref

        if not source.is_hub:
            source = source.model_copy(update={"path": str(self.ef.resolve(source.path))})
        try:
            check_source(source, loc=("path",))
        except OptionError as exc:
            raise self._option_error(exc, (*where, "corpus")) from None
        record = source.model_dump(mode="json")
        key = hashlib.sha256(
            json.dumps({**record, "ref": source_ref(source)}, sort_keys=True).encode()
        ).hexdigest()
        return Upstream("corpus", key, {"corpus": source.path, "data": source.path}), record

    def _data_refs(self, entry: Entry, stage: str, opts: BaseModel) -> dict[str, str] | None:
        """Content refs of data a backend's options name (a mixed-in set), if it says."""
        refs = getattr(entry.component, "data_refs", None)
        if not callable(refs):
            return None
        return entry.call("reading data refs", refs, stage, opts) or None

    def _launch(self, settings: Any, where: Loc, backend: Any = None) -> Any:
        """The stage's launch settings, checked (None when left at the default)."""
        from msmkit.training.launch import bundled_configs, check_launch

        launch = settings.launch
        if not launch.model_fields_set:
            return None
        if launch.config_file is not None and launch.config_file not in bundled_configs():
            launch = launch.model_copy(
                update={"config_file": str(self.ef.resolve(launch.config_file))}
            )
        try:
            check_launch(launch, backend=backend)
        except OptionError as exc:
            raise self._option_error(exc, (*where, "launch")) from None
        return launch

    def _validate_backend(self, entry: Entry, stage: str, opts: BaseModel, loc: Loc) -> None:
        validate = getattr(entry.component, "validate", None)
        if not callable(validate):
            return
        base = self.base.model if self.base is not None else None
        memo = f"{entry.name}:{stage}:{opts.model_dump_json()}:{base}"
        if memo in self._validated:
            return
        try:
            entry.call("validating options", validate, stage, opts, base)
        except OptionError as exc:
            raise self._option_error(exc, (*loc, "options")) from None
        self._validated.add(memo)

    def _model_chain(
        self, i: int, arm: Arm, chain: Chain, base: Node | Upstream, aft_input: Any
    ) -> None:
        from msmkit.stages.train import TrainOptions

        info = self.arms[arm.name]
        model: Node | Upstream = base
        corpus = chain.filters[-1] if chain.filters else chain.corpus
        mt = self.exp.midtrain_for(arm)
        source = None
        if mt is not None and mt.corpus is not None:
            corpus, source = self._external_corpus(mt.corpus, self._where(i, arm, "midtrain"))
        if corpus is not None and mt is not None:
            where = self._where(i, arm, "midtrain")
            entry, opts = self._backend(mt, where)
            launch = self._launch(mt, where, entry.component)
            self._validate_backend(entry, "midtrain", opts, where)
            options = TrainOptions(
                backend=entry.name,
                backend_options=opts.model_dump(mode="json"),
                seed=chain.seed,
                launch=launch,
                data_refs=self._data_refs(entry, "midtrain", opts),
                corpus_source=source,
            )
            spec_name = info.spec.name if info.spec is not None else "?"
            if source is not None:
                spec_name = source["path"].rstrip("/").rsplit("/", 1)[-1]
            model = chain.midtrain = self.add(
                "midtrain",
                options,
                {"model": model, "corpus": corpus},
                arm=arm.name,
                role="midtrain",
                where=where,
                label=f"midtrain on {spec_name}{self._seed_note(chain.seed)}",
            )
            _note(info, entry)
        aft = self.exp.aft_for(arm)
        if self.exp.eval.before_aft and aft is not None and aft_input is not None:
            bwhere = self._where(i, arm, "evals")
            for k, ref in enumerate(self.exp.evals_for(arm)):
                chain.evals_before_aft[ref.task] = self._eval(ref, (*bwhere, k), model, arm.name)
        if aft is not None and aft_input is not None:
            where = self._where(i, arm, "aft")
            entry, opts = self._backend(aft, where)
            launch = self._launch(aft, where, entry.component)
            self._validate_backend(entry, "aft", opts, where)
            if isinstance(aft_input, StageRef):
                data: Node | Upstream = self._plugin_stage(
                    aft_input, (*where, "data"), {}, "chats", arm.name
                )
                data_name = aft_input.stage
            else:
                data = aft_input
                data_name = aft_input.path("data").name
            options = TrainOptions(
                backend=entry.name,
                backend_options=opts.model_dump(mode="json"),
                seed=chain.seed,
                launch=launch,
                data_refs=self._data_refs(entry, "aft", opts),
            )
            model = chain.aft = self.add(
                "aft",
                options,
                {"model": model, "data": data},
                arm=arm.name,
                role="aft",
                where=where,
                label=f"AFT on {data_name}{self._seed_note(chain.seed)}",
            )
            if isinstance(data, Upstream) and not model.estimate.items:
                model.estimate.items = sum(1 for _ in read_jsonl(data.path("data")))
            _note(info, entry)
        ewhere = self._where(i, arm, "evals")
        for k, ref in enumerate(self.exp.evals_for(arm)):
            node = self._eval(ref, (*ewhere, k), model, arm.name)
            chain.evals[ref.task] = node
            _note(info, node.entry)  # the stage kind; the task entry is noted below
            _note(info, get_registry("tasks").entry(ref.task))

    def _eval(self, ref: EvalRef, where: Loc, model: Node | Upstream, arm: str) -> Node:
        from msmkit.stages.evaluate import EvalOptions, check_generate, check_task_args

        settings = self.exp.eval
        tentry = self._entry("tasks", ref.task, (*where, "task"))
        fn = tentry.call("loading the task", tentry.component.load)
        try:
            check_task_args(fn, ref.args)
            check_generate(settings.generate, ())
        except OptionError as exc:
            loc = where if exc.loc[:1] == ("args",) else ("eval", "generate")
            raise self._option_error(exc, loc) from None
        try:
            check_generate(ref.generate, ())
        except OptionError as exc:
            raise self._option_error(exc, (*where, "generate")) from None
        roles = {**settings.roles, **ref.roles}
        for role, name in roles.items():
            if "/" not in name:
                loc = (*where, "roles", role) if role in ref.roles else ("eval", "roles", role)
                raise self.ef.error(
                    loc, f"{name!r} is not an Inspect model name", hint="e.g. openai/gpt-4o-mini"
                )
        serve = settings.serve
        options = EvalOptions(
            task=tentry.name,
            task_provider=tentry.provider,
            task_args=ref.args,
            generate={**settings.generate, **ref.generate},
            roles=roles,
            provider=serve.provider,
            base_url=serve.base_url,
            served_name=serve.served_name,
            model_args=serve.model_args,
            max_connections=settings.max_connections,
            limit=settings.limit,
        )
        return self.add("eval", options, {"model": model}, arm=arm, role="eval", where=where)


def _note(info: ArmInfo, entry: Entry) -> None:
    if entry not in info.components:
        info.components.append(entry)


def _apply_variant(entry: Entry, spec: Any, options: BaseModel) -> Any:
    try:
        from msmkit.variants import apply_variant
    except ImportError:  # pragma: no cover - older checkouts
        return entry.call("applying the variant", entry.component.apply, spec, options)
    return apply_variant(entry, spec, options)


def build_graph(ef: ExperimentFile, store: Store) -> Graph:
    """Expand and validate an experiment (cheap; nothing is generated or trained)."""
    return Graph(ef, store).build()
