"""The experiment file: named arms, each a list of steps from a spec to evals.

An experiment is YAML validated by pydantic with ``extra="forbid"``. Arm settings left out
inherit ``defaults``; ``midtrain: false`` / ``aft: false`` skip a stage (a no-MSM control).
An arm's steps are ``generate, filters, midtrain, aft, evals`` unless it (or ``defaults``)
lists ``stages:`` itself: the same step names, in any order, with stages of any registered
kind between them (each fed the arm's latest artifact of the type it consumes).
``across_arms:`` lists stages that run once over every arm's outputs (a report).
Relative paths are resolved against the experiment file's folder. The parsed YAML node tree
is kept with the validated experiment (``ExperimentFile``) so every later error can name the
file and line of the field it is about.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from msmkit.components import Options
from msmkit.errors import ConfigError
from msmkit.matrix import MatrixSettings
from msmkit.naming import MAX_NAME, SLUG
from msmkit.training.launch import LaunchSettings
from msmkit.training.sources import DataSource
from msmkit.yamlfile import format_loc, line_of, load_yaml, validate

MAX_EXPERIMENT_BYTES = 1 << 20
"""An experiment file is a page of settings; anything past 1 MiB is refused unread."""

Seed = Annotated[int, Field(strict=True, ge=0, lt=1 << 32)]
"""A training seed: a whole number from 0 to 2^32 - 1 (what torch and numpy accept);
``seed: true`` or ``2**70`` are mistakes, refused at plan time."""


class ComponentRef(Options):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class StageRef(Options):
    """A stage of a plugin's kind (``msmkit list stages``) with its options."""

    stage: str
    options: dict[str, Any] = Field(default_factory=dict)


STEP_NAMES = ("generate", "filters", "midtrain", "aft", "evals")
"""The shorthand steps an arm's ``stages:`` list may name (each expands per the arm's
settings, and is skipped where the arm has nothing for it, like a control's midtraining)."""
StepName = Literal["generate", "filters", "midtrain", "aft", "evals"]


class StageStep(StageRef):
    """A stage in an arm's ``stages:`` list (or in ``across_arms:``).

    Its slots are filled from what the arm made before it, by artifact type (the latest
    spec, corpus, model, chats...), unless ``inputs`` names the step to take a slot from:
    a shorthand step (``generate``, ``midtrain``, ``aft``, ``spec``, ``base``) or another
    step's ``name``."""

    name: str | None = Field(None, pattern=SLUG, max_length=MAX_NAME)
    inputs: dict[str, str] = Field(default_factory=dict)


class GenerateSettings(ComponentRef):
    name: str = "offline"


class TrainSettings(Options):
    backend: str = "trl"
    options: dict[str, Any] = Field(default_factory=dict)
    launch: LaunchSettings = Field(
        default_factory=LaunchSettings,
        description="how the training runs: launcher none, process or accelerate "
        "(docs/training.md)",
    )


class MidtrainSettings(TrainSettings):
    corpus: DataSource | None = Field(
        default=None,
        description="train on this corpus instead of a generated one (for arms without a "
        "spec): a .jsonl/.json/.parquet/.csv/.arrow file, a save_to_disk folder, "
        "hf:org/name[@revision], or {path, split, field, name}",
    )

    @field_validator("corpus", mode="before")
    @classmethod
    def _corpus_shorthand(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value


class AFTSettings(TrainSettings):
    data: str | StageRef | None = Field(
        None,
        description="a JSONL of chat demonstrations, a bundled set name (cheese), or a stage "
        "that makes one; leave it out when a step before aft makes the chats",
    )


class EvalRef(Options):
    task: str
    name: str | None = Field(
        None,
        pattern=SLUG,
        max_length=MAX_NAME,
        description="how results name this eval (default: the task, or task[args] when an "
        "arm evaluates one task twice)",
    )
    args: dict[str, Any] = Field(default_factory=dict)
    generate: dict[str, Any] = Field(
        default_factory=dict,
        description="Inspect GenerateConfig fields for this task (over eval.generate)",
    )
    roles: dict[str, str] = Field(
        default_factory=dict, description="model roles for this task, e.g. grader: openai/gpt-4o"
    )


class TinyBase(Options):
    """Build a random-weight tiny model offline (tokenizer trained on the run's texts)."""

    tiny: dict[str, Any] = Field(default_factory=dict)


class ServeSettings(Options):
    """How the checkpoint under test reaches Inspect.

    ``hf``: loaded in-process by Inspect's transformers provider. ``vllm``: Inspect starts a
    vLLM server for the checkpoint, or uses ``base_url`` when one is already serving it
    (then ``served_name`` is the model name that server knows it by). Any other Inspect
    provider that takes a model path as its model name works the same way.
    """

    provider: str = "hf"
    base_url: str | None = None
    served_name: str | None = None
    model_args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        if not value or "/" in value:
            raise ValueError("a provider name like hf or vllm (no slash)")
        return value


class ExecutorChoice(Options):
    name: str | None = Field(None, description="a registered executor (`msmkit list executors`)")
    options: dict[str, Any] = Field(default_factory=dict)


class StageExecution(Options):
    """Where each stage runs: ``local`` (in the msmkit process, the default) or an executor
    that runs a stage as a job elsewhere (``process``: a child process; a cluster plugin's).
    ``kinds`` sets it per stage kind (``{midtrain: {name: slurm, options: {gpus: 8}}}``)."""

    name: str = "local"
    options: dict[str, Any] = Field(default_factory=dict)
    kinds: dict[str, ExecutorChoice] = Field(default_factory=dict)

    def override(self, name: str) -> StageExecution:
        """Every stage on executor ``name`` (``msmkit run --executor NAME``): the options
        written for ``name`` (experiment-wide and per kind) are kept, the others dropped."""
        kinds = {
            kind: ExecutorChoice(name=name, options=choice.options)
            for kind, choice in self.kinds.items()
            if (choice.name or self.name) == name
        }
        return StageExecution(
            name=name, options=dict(self.options) if self.name == name else {}, kinds=kinds
        )

    def for_kind(self, kind: str) -> tuple[str, dict[str, Any]]:
        chosen = self.kinds.get(kind)
        if chosen is None:
            return self.name, dict(self.options)
        name = chosen.name or self.name
        base = self.options if name == self.name else {}
        return name, {**base, **chosen.options}


class EvalSettings(Options):
    """Settings shared by every eval of the experiment (a task's own ``generate`` wins)."""

    generate: dict[str, Any] = Field(default_factory=dict)
    roles: dict[str, str] = Field(default_factory=dict)
    serve: ServeSettings = Field(default_factory=ServeSettings)
    max_connections: int = Field(16, ge=1)
    limit: int | None = Field(None, ge=1, description="evaluate only the first N samples")
    before_aft: bool = Field(
        False,
        description="also run every eval on each arm's model before AFT (the midtrained "
        "model, or the base for an arm without midtraining)",
    )


class Contrast(Options):
    """Pairs of arms that differ on one axis: ``{axis: variant, levels: [none, rules-only]}``
    compares, for every other coordinate, the arm at the first level with the one at the
    second (both levels when omitted and the axis has two values)."""

    axis: str
    levels: list[Any] | None = Field(None, min_length=2, max_length=2)


class TokenMatch(Options):
    """Arms trained on the same amount: each arm's corpus (``what: corpus``) or AFT set
    (``chats``) is cut to the group's smallest, by tokens or samples. The group is ``arms``,
    or, in a matrix, every set of arms that differ only in the ``across`` axis."""

    what: Literal["corpus", "chats"] = "corpus"
    by: Literal["tokens", "samples"] = "tokens"
    arms: list[str] | None = Field(None, min_length=2)
    across: str | None = None

    @model_validator(mode="after")
    def _one_group(self) -> TokenMatch:
        if (self.arms is None) == (self.across is None):
            raise ValueError("give arms: [..] or across: AXIS (one of them)")
        return self


class CompareSettings(Options):
    """Which pairs of arms the comparison tests, and the multiple-comparison correction."""

    contrasts: list[tuple[str, str] | Contrast] | None = Field(
        None,
        description="declared pairs ([arm-a, arm-b]) or axis contrasts; default: every pair "
        "(up to 5 arms), else each arm against the first",
    )
    correction: Literal["holm", "none"] = Field(
        "holm", description="Holm's step-down correction over the contrasts of each metric"
    )


class Defaults(Options):
    generate: GenerateSettings = Field(default_factory=GenerateSettings)
    filters: list[StageRef] = Field(default_factory=list)
    midtrain: MidtrainSettings | None = Field(default_factory=MidtrainSettings)
    aft: AFTSettings | None = None
    evals: list[EvalRef] = Field(default_factory=list)
    stages: list[StepName | StageStep] | None = Field(
        None, description="the arm's steps in order (default: " + ", ".join(STEP_NAMES) + ")"
    )


class Arm(Options):
    name: str = Field(pattern=SLUG, max_length=MAX_NAME)
    spec: str | None = Field(None, description="spec name or path; none = no midtraining")
    in_context: bool = Field(
        False,
        description="no training: the spec is the system prompt of every eval of the base "
        "model (the spec-in-context baseline)",
    )
    variants: list[ComponentRef] = Field(default_factory=list)
    generate: GenerateSettings | None = None
    filters: list[StageRef] | None = None
    midtrain: MidtrainSettings | Literal[False] | None = None
    aft: AFTSettings | Literal[False] | None = None
    evals: list[EvalRef] | None = None
    stages: list[StepName | StageStep] | None = None


class Experiment(Options):
    name: str = Field(pattern=SLUG, max_length=MAX_NAME)
    description: str = ""
    seed: Seed = 0
    seeds: list[Seed] | None = Field(
        None, min_length=1, description="train every arm once per seed (replicates)"
    )
    base_model: str | TinyBase | StageRef
    defaults: Defaults = Field(default_factory=Defaults)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    executor: StageExecution = Field(
        default_factory=StageExecution,
        description="where stages run: local (default), or an executor per experiment or kind",
    )
    arms: list[Arm] = Field(default_factory=list)
    matrix: MatrixSettings | None = Field(
        None, description="axes expanded into arms named by their coordinates (msmkit.matrix)"
    )
    compare: CompareSettings = Field(default_factory=CompareSettings)
    token_match: list[TokenMatch] = Field(
        default_factory=list, description="groups of arms trained on the same amount of data"
    )
    across_arms: list[StageStep] = Field(
        default_factory=list,
        description="stages run once over every arm's outputs (their starred slots, e.g. "
        "eval*, receive every arm's artifacts of that type)",
    )

    @field_validator("arms")
    @classmethod
    def _unique_arm_names(cls, arms: list[Arm]) -> list[Arm]:
        seen: set[str] = set()
        for arm in arms:
            if arm.name in seen:
                raise ValueError(f"two arms are named '{arm.name}'")
            seen.add(arm.name)
        return arms

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, seeds: list[int] | None) -> list[int] | None:
        if seeds is not None and len(set(seeds)) != len(seeds):
            raise ValueError("a seed is listed twice")
        return seeds

    @model_validator(mode="after")
    def _every_arm_is_complete(self) -> Experiment:
        if not self.arms and self.matrix is None:
            raise ValueError("an experiment needs arms (or a matrix that makes them)")
        for arm in self.arms:
            problem = self.arm_problem(arm)
            if problem:
                raise ValueError(problem)
        return self

    def arm_problem(self, arm: Arm) -> str | None:
        """What makes an arm incomplete or contradictory, or None."""
        mt = self.midtrain_for(arm)
        if arm.in_context:
            if arm.spec is None:
                return f"arm '{arm.name}' is in_context but has no spec to put in context"
            return None
        if arm.spec is not None and mt is not None and mt.corpus is not None:
            return (
                f"arm '{arm.name}' has a spec and a midtrain corpus; the corpus replaces "
                "the generated one, so give one of them"
            )
        if arm.spec is None and arm.variants:
            return f"arm '{arm.name}' has variants but no spec"
        return None

    def all_seeds(self) -> list[int]:
        return list(self.seeds) if self.seeds else [self.seed]

    def generate_for(self, arm: Arm) -> GenerateSettings:
        return arm.generate or self.defaults.generate

    def filters_for(self, arm: Arm) -> list[StageRef]:
        return arm.filters if arm.filters is not None else self.defaults.filters

    def midtrain_for(self, arm: Arm) -> MidtrainSettings | None:
        if arm.midtrain is False or arm.in_context:
            return None
        return arm.midtrain or self.defaults.midtrain

    def aft_for(self, arm: Arm) -> AFTSettings | None:
        if arm.aft is False or arm.in_context:
            return None
        return arm.aft or self.defaults.aft

    def evals_for(self, arm: Arm) -> list[EvalRef]:
        return arm.evals if arm.evals is not None else self.defaults.evals

    def steps_for(self, arm: Arm) -> list[str | StageStep]:
        if arm.in_context:
            return ["evals"]
        if arm.stages is not None:
            return list(arm.stages)
        if self.defaults.stages is not None:
            return list(self.defaults.stages)
        return list(STEP_NAMES)

    def config_hash(self) -> str:
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class ExperimentFile:
    """A validated experiment with where it came from: errors can name file and line."""

    experiment: Experiment
    path: Path
    node: yaml.Node | None
    axes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """arm name -> its matrix coordinates (matrix arms only)."""
    arm_locs: dict[int, dict[str, tuple[Any, ...]]] = field(default_factory=dict)
    """arm index -> field -> where in the matrix the field came from (matrix arms only)."""

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the file are resolved against."""
        return self.path.parent

    def line(self, loc: tuple[Any, ...]) -> int | None:
        return line_of(self.node, self.source_loc(loc))

    def source_loc(self, loc: tuple[Any, ...]) -> tuple[Any, ...]:
        """Where ``loc`` was written: a matrix arm's field is written in the matrix."""
        if len(loc) >= 2 and loc[0] == "arms" and loc[1] in self.arm_locs:
            fields = self.arm_locs[loc[1]]
            if len(loc) >= 3 and loc[2] in fields:
                return ("matrix", *fields[loc[2]])
            return ("matrix", "axes")
        return loc

    def error(self, loc: tuple[Any, ...], message: str, hint: str | None = None) -> ConfigError:
        """A ConfigError that names ``file:line: field.path: message`` (for a matrix arm, the
        matrix setting it came from, and the arm)."""
        line = self.line(loc)
        where = f"{self.path}:{line}" if line else str(self.path)
        source = self.source_loc(loc)
        if source != loc:
            arm = self.experiment.arms[loc[1]].name if loc[1] < len(self.experiment.arms) else "?"
            return ConfigError(
                f"{where}: {format_loc(source)}: matrix arm '{arm}': {format_loc(loc[2:])}: "
                f"{message}",
                hint=hint,
            )
        return ConfigError(f"{where}: {format_loc(loc)}: {message}", hint=hint)

    def resolve(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def read_experiment(path: str | Path) -> ExperimentFile:
    """Load and validate an experiment file, keeping its YAML node tree for line numbers."""
    path = Path(path)
    data, node = load_yaml(path, max_bytes=MAX_EXPERIMENT_BYTES)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: an experiment file must be a YAML mapping",
            hint="see experiments/cheese-demo.yaml for the shape",
        )
    exp = validate(Experiment, data, path, node)
    ef = ExperimentFile(exp, path.resolve(), node)
    if exp.matrix is not None:
        expand_matrix(ef)
    return ef


def expand_matrix(ef: ExperimentFile) -> None:
    """Add the matrix's arms (and its seeds) to the experiment; errors name the matrix line."""
    from pydantic import ValidationError

    from msmkit.matrix import MatrixError, coordinates, expand_arm, validate_arms

    exp = ef.experiment
    matrix = exp.matrix
    assert matrix is not None
    defaults = exp.defaults.model_dump(mode="json", exclude_unset=True)
    try:
        coords = coordinates(matrix)
        made = [expand_arm(matrix, coord, defaults, list(STEP_NAMES)) for coord in coords]
        validate_arms([arm for arm, _ in made] + [a.model_dump() for a in exp.arms], coords)
    except MatrixError as exc:
        raise ef.error(("matrix", *exc.loc), str(exc)) from None
    arms = list(exp.arms)
    first = len(arms)
    for k, (raw, where) in enumerate(made):
        index = first + k
        ef.arm_locs[index] = where
        try:
            arm = Arm.model_validate(raw)
        except ValidationError as err:
            first_error = err.errors()[0]
            field_loc = ("arms", index, *first_error["loc"])
            msg = first_error["msg"]
            if first_error["type"] == "extra_forbidden":
                msg = "unknown field"
            raise ef.error(field_loc, f"matrix arm '{raw['name']}': {msg}") from None
        problem = exp.arm_problem(arm)
        if problem:
            raise ef.error(("arms", index, "spec"), problem)
        arms.append(arm)
        ef.axes[arm.name] = dict(coords[k])
    update: dict[str, Any] = {"arms": arms}
    if "seed" in matrix.axes:
        if exp.seeds is not None:
            raise ef.error(("matrix", "axes", "seed"), "seeds are given twice (seeds: and here)")
        from pydantic import TypeAdapter

        seeds = matrix.values("seed")
        try:
            update["seeds"] = TypeAdapter(list[Seed]).validate_python(seeds)
        except ValidationError as err:
            loc = ("matrix", "axes", "seed", *err.errors()[0]["loc"])
            raise ef.error(loc, err.errors()[0]["msg"]) from None
        if len(set(seeds)) != len(seeds):
            raise ef.error(("matrix", "axes", "seed"), "a seed is listed twice")
    ef.experiment = exp.model_copy(update=update)


def load_experiment(path: str | Path) -> tuple[Experiment, Path]:
    """Load and validate an experiment file. Returns it and the folder relative paths use."""
    ef = read_experiment(path)
    return ef.experiment, ef.base_dir
