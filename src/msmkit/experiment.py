"""The experiment file: named arms, each a path spec -> documents -> midtraining -> AFT -> evals.

An experiment is YAML validated by pydantic with ``extra="forbid"``. Arm settings left out
inherit ``defaults``; ``midtrain: false`` / ``aft: false`` skip a stage (a no-MSM control).
Relative paths are resolved against the experiment file's folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from msmkit.yamlfile import load_yaml, validate

SLUG = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentRef(Strict):
    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class GenerateSettings(ComponentRef):
    name: str = "offline"


class TrainSettings(Strict):
    backend: str = "trl"
    options: dict[str, Any] = Field(default_factory=dict)


class AFTSettings(TrainSettings):
    data: str = Field(description="a JSONL of chat demonstrations, or a bundled set name (cheese)")


class EvalRef(Strict):
    task: str
    args: dict[str, Any] = Field(default_factory=dict)


class TinyBase(Strict):
    """Build a random-weight tiny model offline (tokenizer trained on the run's texts)."""

    tiny: dict[str, Any] = Field(default_factory=dict)


class EvalSettings(Strict):
    """How checkpoints are served to Inspect (``hf/local``) during ``msmkit run``."""

    max_tokens: int = Field(24, ge=1)
    max_connections: int = Field(16, ge=1)
    limit: int | None = Field(None, ge=1, description="evaluate only the first N samples")
    model_args: dict[str, Any] = Field(default_factory=dict)


class Defaults(Strict):
    generate: GenerateSettings = Field(default_factory=GenerateSettings)
    midtrain: TrainSettings | None = Field(default_factory=TrainSettings)
    aft: AFTSettings | None = None
    evals: list[EvalRef] = Field(default_factory=list)


class Arm(Strict):
    name: str = Field(pattern=SLUG)
    spec: str | None = Field(None, description="spec name or path; none = no midtraining")
    variants: list[ComponentRef] = Field(default_factory=list)
    generate: GenerateSettings | None = None
    midtrain: TrainSettings | Literal[False] | None = None
    aft: AFTSettings | Literal[False] | None = None
    evals: list[EvalRef] | None = None


class Experiment(Strict):
    name: str = Field(pattern=SLUG, max_length=80)
    description: str = ""
    seed: int = 0
    base_model: str | TinyBase
    defaults: Defaults = Field(default_factory=Defaults)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    arms: list[Arm] = Field(min_length=1)

    @field_validator("arms")
    @classmethod
    def _unique_arm_names(cls, arms: list[Arm]) -> list[Arm]:
        seen: set[str] = set()
        for arm in arms:
            if arm.name in seen:
                raise ValueError(f"two arms are named '{arm.name}'")
            seen.add(arm.name)
        return arms

    @model_validator(mode="after")
    def _every_arm_is_complete(self) -> Experiment:
        for arm in self.arms:
            if arm.spec is not None and self.midtrain_for(arm) is None:
                raise ValueError(f"arm '{arm.name}' has a spec but midtraining is off")
            if arm.spec is None and arm.variants:
                raise ValueError(f"arm '{arm.name}' has variants but no spec")
        return self

    def generate_for(self, arm: Arm) -> GenerateSettings:
        return arm.generate or self.defaults.generate

    def midtrain_for(self, arm: Arm) -> TrainSettings | None:
        if arm.midtrain is False:
            return None
        return arm.midtrain or self.defaults.midtrain

    def aft_for(self, arm: Arm) -> AFTSettings | None:
        if arm.aft is False:
            return None
        return arm.aft or self.defaults.aft

    def evals_for(self, arm: Arm) -> list[EvalRef]:
        return arm.evals if arm.evals is not None else self.defaults.evals

    def config_hash(self) -> str:
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


def load_experiment(path: str | Path) -> tuple[Experiment, Path]:
    """Load and validate an experiment file. Returns it and the folder relative paths use."""
    path = Path(path)
    data, node = load_yaml(path)
    if not isinstance(data, dict):
        from msmkit.errors import ConfigError

        raise ConfigError(
            f"{path}: an experiment file must be a YAML mapping",
            hint="see experiments/cheese-demo.yaml for the shape",
        )
    return validate(Experiment, data, path, node), path.resolve().parent
