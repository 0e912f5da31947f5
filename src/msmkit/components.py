"""The contracts that plugins implement.

Each component is a plain object with a ``name``, a one-line ``description`` and a pydantic
``Options`` model (``extra="forbid"``) for its settings. The experiment file passes an
``options:`` mapping that is validated against ``Options`` before anything runs.
Heavy libraries (torch, transformers, provider SDKs) are imported inside methods, never at
module import, so registering a component costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from msmkit.corpus import Document
    from msmkit.spec import Spec


class Options(BaseModel):
    """Base for component options: unknown keys are errors, and so are NaN and infinity."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class NoOptions(Options):
    """For components that take no settings."""


@dataclass
class Estimate:
    """What a stage will cost before it runs. Numbers are estimates and say so."""

    stage: str
    items: int = 0
    tokens: int = 0
    dollars: float = 0.0
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    """Kind-specific detail shown by ``msmkit plan --json`` (e.g. cost per step)."""
    artifact: Any = field(default=None, repr=False, compare=False)
    """What the stage will hand on, when it is known before anything runs (a ``spec``
    stage's Spec), so the estimates of stages that consume it can use it."""


@runtime_checkable
class SpecVariant(Protocol):
    """A named transformation of a spec (an ablation: attribution, rules-only, ...).

    ``apply`` returns a new Spec and must not mutate its input. It should append a short
    human-readable line to the returned spec's ``lineage`` saying what it changed.
    """

    name: str
    description: str
    Options: ClassVar[type[Options]]

    def apply(self, spec: Spec, options: Any) -> Spec: ...


@runtime_checkable
class DocGenerator(Protocol):
    """Turns a spec into documents that discuss it.

    ``generate`` yields documents one at a time so the caller can persist each as it
    arrives. Ids must be deterministic for a given (spec, options), and ids in ``skip``
    must not be produced again: that is how an interrupted stage resumes without repeating
    work (or paid calls).
    """

    name: str
    description: str
    Options: ClassVar[type[Options]]

    def plan(self, spec: Spec, options: Any) -> Estimate: ...

    def generate(
        self, spec: Spec, options: Any, *, skip: frozenset[str] = frozenset()
    ) -> Iterator[Document]: ...


@dataclass
class TrainJob:
    """One training stage: ``base_model`` + data -> a model directory at ``output_dir``.

    ``stage`` is ``"midtrain"`` (documents, plain next-token loss) or ``"aft"``
    (chat demonstrations, assistant-only loss). ``data`` is a JSONL file.
    ``checkpoint_dir`` is a stable folder for checkpoints that a later attempt of the same job
    resumes from; None lets the backend choose (the ``trl`` backend: ``<output_dir>.checkpoints``).
    """

    stage: Literal["midtrain", "aft"]
    base_model: str
    data: Path
    output_dir: Path
    options: Any
    seed: int = 0
    progress: Callable[[int, int], None] | None = None
    checkpoint_dir: Path | None = None


@runtime_checkable
class TrainingBackend(Protocol):
    """Trains a model. ``requires`` names import-able modules the backend needs;
    msmkit checks them (without importing) before planning a run.

    Optional method (looked up with ``getattr``, so backends without it stay valid)::

        def validate(self, stage: str, options: Options, base_model: str | None) -> None

    Called by ``msmkit plan`` and before ``msmkit run`` starts any stage, so a bad option
    fails before hours of earlier stages. ``stage`` is ``"midtrain"`` or ``"aft"``;
    ``options`` is the backend's validated ``Options`` instance; ``base_model`` is a local
    model directory or hub id when it is known at plan time, or None when the model will be
    produced by an earlier stage. Raise ``msmkit.errors.OptionError(message, loc=(...),
    hint=...)`` for a bad option, where ``loc`` is the path of the field inside the
    backend's option block, e.g. ``("sft", "num_train_epochs")`` or ``("lora", "r")``; the
    caller maps it to the experiment file's line. It must be quick: no training, no model
    weights, and heavy imports inside the method.
    """

    name: str
    description: str
    Options: ClassVar[type[Options]]
    requires: tuple[str, ...]

    def plan(self, job: TrainJob) -> Estimate: ...

    def train(self, job: TrainJob) -> Path: ...


@dataclass(frozen=True)
class EvalTask:
    """An Inspect task made available to ``msmkit run``.

    ``task`` is an Inspect ``@task`` function, or an import string ``"module:function"``
    resolved only when the eval runs (so listing tasks never imports Inspect).

    What decides an eval's output enters its fingerprint, so editing it reruns exactly the
    evals of this task: ``version`` (bump it when the task's code changes what it scores),
    the content of ``data`` (its banks and prompt files or folders; a relative path is taken
    under msmkit's bundled ``tasks/`` folder) and the versions of ``packages`` (distributions
    whose files the task reads, e.g. ``inspect-evals``). ``check`` (a callable or
    ``"module:function"``) is called as ``check(**args)`` when an experiment is planned and
    raises ``ValueError`` (or ``msmkit.errors.OptionError`` with ``loc=("name",)``) for a bad
    task argument, so it fails before any training.
    """

    name: str
    task: Callable[..., Any] | str
    description: str = ""
    version: str = "1"
    data: tuple[str | Path, ...] = ()
    packages: tuple[str, ...] = ()
    check: Callable[..., Any] | str | None = None

    def load(self) -> Callable[..., Any]:
        return _resolve(self.task)

    def load_check(self) -> Callable[..., Any] | None:
        return None if self.check is None else _resolve(self.check)

    def data_paths(self) -> list[Path]:
        from msmkit.resources import bundled

        return [Path(p) if Path(p).is_absolute() else bundled("tasks") / p for p in self.data]


def _resolve(ref: Callable[..., Any] | str) -> Callable[..., Any]:
    if callable(ref):
        return ref
    if "@" in ref and ref.rpartition("@")[0].endswith(".py"):  # an Inspect file task
        return load_file_task(ref)
    import importlib

    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def load_file_task(ref: str) -> Any:
    """The function ``func`` of ``/abs/path/tasks.py@func`` (imports the file)."""
    import importlib.util

    from msmkit.errors import UnknownComponentError

    path_text, _, func = ref.rpartition("@")
    path = Path(path_text)
    module_spec = importlib.util.spec_from_file_location(f"msmkit_task_{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise UnknownComponentError(f"task {ref!r}: cannot import {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    try:
        return getattr(module, func)
    except AttributeError:
        raise UnknownComponentError(f"task {ref!r}: {path.name} defines no {func!r}") from None
