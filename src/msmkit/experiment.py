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
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from msmkit.components import Options
from msmkit.errors import ConfigError
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
    arms: list[Arm] = Field(min_length=1)
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
        for arm in self.arms:
            if arm.spec is not None and self.midtrain_for(arm) is None:
                raise ValueError(f"arm '{arm.name}' has a spec but midtraining is off")
            mt = self.midtrain_for(arm)
            if arm.spec is not None and mt is not None and mt.corpus is not None:
                raise ValueError(
                    f"arm '{arm.name}' has a spec and a midtrain corpus; the corpus replaces "
                    "the generated one, so give one of them"
                )
            if arm.spec is None and arm.variants:
                raise ValueError(f"arm '{arm.name}' has variants but no spec")
        return self

    def all_seeds(self) -> list[int]:
        return list(self.seeds) if self.seeds else [self.seed]

    def generate_for(self, arm: Arm) -> GenerateSettings:
        return arm.generate or self.defaults.generate

    def filters_for(self, arm: Arm) -> list[StageRef]:
        return arm.filters if arm.filters is not None else self.defaults.filters

    def midtrain_for(self, arm: Arm) -> MidtrainSettings | None:
        if arm.midtrain is False:
            return None
        return arm.midtrain or self.defaults.midtrain

    def aft_for(self, arm: Arm) -> AFTSettings | None:
        if arm.aft is False:
            return None
        return arm.aft or self.defaults.aft

    def evals_for(self, arm: Arm) -> list[EvalRef]:
        return arm.evals if arm.evals is not None else self.defaults.evals

    def steps_for(self, arm: Arm) -> list[str | StageStep]:
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

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the file are resolved against."""
        return self.path.parent

    def line(self, loc: tuple[Any, ...]) -> int | None:
        return line_of(self.node, loc)

    def error(self, loc: tuple[Any, ...], message: str, hint: str | None = None) -> ConfigError:
        """A ConfigError that names ``file:line: field.path: message``."""
        line = self.line(loc)
        where = f"{self.path}:{line}" if line else str(self.path)
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
    return ExperimentFile(exp, path.resolve(), node)


def load_experiment(path: str | Path) -> tuple[Experiment, Path]:
    """Load and validate an experiment file. Returns it and the folder relative paths use."""
    ef = read_experiment(path)
    return ef.experiment, ef.base_dir
