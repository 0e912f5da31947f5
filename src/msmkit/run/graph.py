"""The stage graph of an experiment: nodes, the slots that connect them, and the arms' chains.

Every stage's fingerprint covers its kind, its options (runtime fields aside) and the
fingerprints of the stages it consumes, so arms (and experiments) that ask for the same thing
share one stage in the store. :func:`msmkit.run.expand.build_graph` expands an experiment into
this graph and validates everything on the way: that is the plan; nothing runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from msmkit.components import Estimate
from msmkit.errors import ConfigError, MsmkitError, OptionError, UnknownComponentError
from msmkit.experiment import Arm, ExperimentFile
from msmkit.registry import Entry, get_registry
from msmkit.run.store import StageDir, Store
from msmkit.stagekit import Upstream, check_stage_kind, kind_label, stage_fingerprint
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

    @property
    def produces(self) -> str:
        return str(self.kind.produces)

    def content_key(self) -> str:
        return self.stage.content_key() if self.stage.record_path.exists() else self.key

    def slot_keys(self) -> dict[str, str]:
        return slot_keys(self.slots)


Source = Node | Upstream
"""What fills a slot: a stage of the graph, or an input from outside the store."""


def artifact_of(source: Source) -> str:
    return source.produces if isinstance(source, Node) else source.artifact


def slot_keys(slots: dict[str, Source]) -> dict[str, str]:
    """What fills each slot, by key: a stage's content key, or an external input's key."""
    return {s: (v.content_key() if isinstance(v, Node) else v.key) for s, v in slots.items()}


@dataclass
class EvalStep:
    """One eval of an arm: ``name`` is unique in the arm (the task, or ``task[args]`` when
    the arm evaluates a task twice); ``phase`` is ``final`` or ``before_<step>``."""

    name: str
    task: str
    phase: str
    node: Node
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def final(self) -> bool:
        return self.phase == "final"


@dataclass
class Chain:
    """One arm at one seed: the stages it is made of, in order."""

    seed: int
    steps: list[Node] = field(default_factory=list)
    spec: Source | None = None
    corpus: Node | None = None
    filters: list[Node] = field(default_factory=list)
    midtrain: Node | None = None
    aft: Node | None = None
    model: Source | None = None
    eval_steps: list[EvalStep] = field(default_factory=list)

    @property
    def evals(self) -> dict[str, Node]:
        """The final model's evals, by eval name."""
        return {e.name: e.node for e in self.eval_steps if e.final}

    @property
    def evals_before_aft(self) -> dict[str, Node]:
        """``eval.before_aft``: the evals of the model before AFT, by eval name."""
        return {e.name: e.node for e in self.eval_steps if e.phase == "before_aft"}


@dataclass
class ArmInfo:
    arm: Arm
    spec: Any | None = None  # the Spec after variants, when it is known at plan time
    components: list[Entry] = field(default_factory=list)
    chains: list[Chain] = field(default_factory=list)
    aft_data: Any | None = None  # the FileRef of an AFT set read from a file
    axes: dict[str, Any] = field(default_factory=dict)  # a matrix arm's coordinates

    @property
    def corpus(self) -> Node | None:
        return self.chains[0].corpus if self.chains else None

    @property
    def filters(self) -> list[Node]:
        return self.chains[0].filters if self.chains else []

    def note(self, entry: Entry) -> None:
        if entry not in self.components:
            self.components.append(entry)


class Graph:
    """``quick``: components with a ``quick_check`` (the trl backend) are checked by it at
    plan time, and their full ``validate`` is kept in ``deferred`` for :meth:`full_check`,
    which ``msmkit run`` calls before any stage starts."""

    def __init__(self, ef: ExperimentFile, store: Store, *, quick: bool = False) -> None:
        self.ef = ef
        self.quick = quick
        self.deferred: dict[str, tuple[Entry, Any, tuple[Any, ...], Loc]] = {}
        self.exp = ef.experiment
        self.store = store
        self.nodes: dict[str, Node] = {}
        self.arms: dict[str, ArmInfo] = {}
        self.base: Any | None = None  # msmkit.run.modelref.ModelInput of a base from outside
        self.across: list[Node] = []
        self.pairs: list[tuple[str, str]] | None = None  # declared contrasts, if any
        self.executors: dict[str, tuple[Any, Any]] = {}  # node id -> (executor, options)
        self._validated: set[str] = set()

    # ------------------------------------------------------------------ nodes
    def add(
        self,
        kind_name: str,
        options: BaseModel,
        slots: dict[str, Source],
        *,
        arm: str,
        role: str,
        where: Loc,
        label: str | None = None,
    ) -> Node:
        """The node for this kind, options and inputs: a new one, or the existing one that
        asks for the same thing (then ``arm`` is added to its arms)."""
        entry = self.entry("stages", kind_name, (*where, "stage"))
        kind = entry.component
        key = entry.call("fingerprinting", stage_fingerprint, kind, options, slot_keys(slots))
        stage = self.store.stage(kind.name, key)
        if stage.name in self.nodes:
            node = self.nodes[stage.name]
            if arm not in node.arms:
                node.arms.append(arm)
            return node
        estimates = {s: self.estimate_of(v) for s, v in slots.items()}
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
        self._place(node, where)
        return node

    def _place(self, node: Node, where: Loc) -> None:
        """Where ``node`` runs: in this process (``local``), or the executor the experiment
        names for its kind, checked now (``executor:`` in the experiment)."""
        from pydantic import ValidationError as PydanticError

        name, raw = self.exp.executor.for_kind(node.kind.name)
        if name == "local":
            return
        kind_set = node.kind.name in self.exp.executor.kinds
        loc: Loc = ("executor", "kinds", node.kind.name) if kind_set else ("executor",)
        entry = self.entry("executors", name, (*loc, "name"))
        executor = entry.component
        if not getattr(executor, "runs_stages", False):
            raise self.error(
                (*loc, "name"),
                f"executor '{name}' runs training jobs, not whole stages",
                hint="use process, or a cluster executor; accelerate goes in a training "
                "stage's launch: block",
            )
        try:
            options = executor.Options.model_validate(raw)
        except PydanticError as exc:
            raise validation_error(
                exc, self.ef.path, self.ef.node, prefix=(*loc, "options"), model=executor.Options
            ) from None
        check = getattr(executor, "check_stage", None)
        if callable(check):
            try:
                entry.call("checking the stage", check, node.kind.name, options, node.estimate)
            except OptionError as exc:
                raise self.option_error(exc, (*loc, "options")) from None
        check = getattr(executor, "check_stage_options", None)
        if callable(check):  # the executor's options against the stage's own (e.g. launch)
            try:
                entry.call("checking the stage", check, node.kind.name, options, node.options)
            except OptionError as exc:
                raise self.option_error(exc, (*loc, "options")) from None
        self.executors[node.id] = (executor, options)

    def estimate_of(self, source: Source) -> Estimate:
        if isinstance(source, Node):
            return source.estimate
        out = source.outputs
        items, tokens = out.get("items"), out.get("tokens")
        extra = {"params": out["params"]} if out.get("params") else {}
        return Estimate(
            source.artifact,
            items=items if isinstance(items, int) else 0,
            tokens=tokens if isinstance(tokens, int) else 0,
            extra=extra,
        )

    def ordered(self) -> list[Node]:
        return list(self.nodes.values())  # insertion order is topological

    # ------------------------------------------------------------------ checks
    def error(self, loc: Loc, message: str, hint: str | None = None) -> ConfigError:
        return self.ef.error(loc, message, hint)

    def entry(self, kind: str, name: str, loc: Loc) -> Entry:
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

    def options(self, entry: Entry, raw: dict[str, Any], loc: Loc) -> BaseModel:
        model = entry.component.Options
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise validation_error(
                exc, self.ef.path, self.ef.node, prefix=loc, model=model
            ) from None

    def option_error(self, exc: OptionError, loc: Loc) -> ConfigError:
        return self.ef.error((*loc, *exc.loc), exc.message, exc.hint)

    def validate_kind(self, entry: Entry, options: BaseModel, loc: Loc) -> None:
        validate = getattr(entry.component, "validate", None)
        if not callable(validate):
            return
        try:
            validate(options)
        except OptionError as exc:
            raise self.option_error(exc, loc) from None
        except ValidationError as exc:
            raise validation_error(exc, self.ef.path, self.ef.node, prefix=loc) from None
        except MsmkitError:
            raise
        except Exception as exc:
            raise entry.error("validating options", exc) from exc

    def validate_once(self, memo: str, entry: Entry, fn: Any, *args: Any, loc: Loc) -> None:
        """Run a component's check once per distinct ``memo`` (many arms share settings)."""
        if memo in self._validated:
            return
        try:
            entry.call("validating options", fn, *args)
        except OptionError as exc:
            raise self.option_error(exc, loc) from None
        self._validated.add(memo)

    def check(self, memo: str, entry: Entry, *args: Any, loc: Loc) -> None:
        """A component's plan-time check: its ``quick_check`` now and its ``validate`` kept
        for :meth:`full_check` when the graph is quick, else ``validate`` now."""
        component = entry.component
        quick = getattr(component, "quick_check", None)
        validate = getattr(component, "validate", None)
        if self.quick and callable(quick):
            self.validate_once(f"quick:{memo}", entry, quick, *args, loc=loc)
            if callable(validate) and memo not in self._validated:
                self.deferred.setdefault(memo, (entry, validate, args, loc))
        elif callable(validate):
            self.validate_once(memo, entry, validate, *args, loc=loc)

    def full_check(self) -> None:
        """Every check the quick plan left out (building the real training configs, loading
        tokenizers); raises the first problem with the experiment file's line."""
        for memo, (entry, validate, args, loc) in list(self.deferred.items()):
            self.validate_once(memo, entry, validate, *args, loc=loc)
            del self.deferred[memo]
