"""The stage-kind contract: what every step of a run (built-in or from a plugin) implements.

A run is a graph of stages. Each stage is one *kind* (``corpus``, ``midtrain``, ``eval``, or a
plugin's) applied to typed ``Options`` and to the finished stages it consumes::

    class Shout:                       # a corpus -> corpus filter
        name = "shout"
        description = "Upper-case every document"
        version = "1"                  # bump when the output for the same inputs changes
        Options = ShoutOptions         # pydantic, extra="forbid": the stage's typed inputs
        consumes = {"corpus": "corpus"}  # slot -> artifact type it needs
        produces = "corpus"            # artifact type it hands on
        resumable = False              # may a half-written folder be continued?

        def estimate(self, options, upstream): return Estimate("shout")
        def run(self, ctx): ...; return {"corpus": "corpus.jsonl"}

msmkit computes the fingerprint: the kind's name and version, its options (a ``FileRef`` in
them counts by content, not path), and the fingerprints of the stages in its slots. A kind
whose output depends on something else adds it in ``fingerprint_extra``.

``run`` writes only inside ``ctx.dir`` and returns its outputs, a JSON mapping; paths in it are
relative to ``ctx.dir``. Work submitted elsewhere (a provider batch, a cluster job) is saved
with ``ctx.set_waiting(...)`` *before* waiting on it, so a rerun after a crash collects it
instead of resubmitting; raise ``StillWaiting`` to end the process and leave it waiting.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, field_validator

from msmkit.components import Estimate, Options
from msmkit.files import confined
from msmkit.hashing import sha256_text

if TYPE_CHECKING:
    from msmkit.run.store import StageDir

ARTIFACTS = ("spec", "corpus", "model", "chats", "eval", "report")
"""What stages hand each other: a spec (after its variants), a document corpus (JSONL), a
model folder or hub id, chat demonstrations (JSONL), an Inspect eval log, a report."""

RUNTIME: dict[str, Any] = {"fingerprint": False}
"""Mark an option that changes how a stage runs but not what it makes (concurrency, a server
URL, a thread count): ``Field(16, json_schema_extra=RUNTIME)``. It stays out of the
fingerprint, so changing it reuses finished stages."""


class FileRef(BaseModel):
    """A file a stage reads. It enters the fingerprint by content (sha256), not by path."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str
    sha256: str

    @classmethod
    def of(cls, path: str | Path) -> FileRef:
        from msmkit.hashing import sha256_file

        p = Path(path).resolve()
        return cls(path=str(p), sha256=sha256_file(p))

    @field_validator("sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        if len(value) != 64:
            raise ValueError("sha256 must be 64 hex digits")
        return value


@dataclass(frozen=True)
class Upstream:
    """One filled slot: a finished stage's outputs, or an input from outside the store."""

    artifact: str
    key: str
    outputs: Mapping[str, Any]
    dir: Path | None = None  # None: an external input (a model path or hub id, a data file)

    def path(self, name: str) -> Path:
        """An output that is a file or folder, as an absolute path. A store stage's outputs
        are confined to its folder: a path that leads out of it is an error, never read."""
        value = str(self.outputs[name])
        if self.dir is None:
            return Path(value)
        return confined(self.dir, value, what=f"output {name!r}")

    def value(self, name: str) -> str:
        """An output as a string: a path resolved against the stage folder, or as given."""
        value = str(self.outputs[name])
        if self.dir is None:
            return value
        return str(confined(self.dir, value, what=f"output {name!r}"))


class StillWaiting(Exception):
    """Raised by ``run`` to leave the stage *waiting* (work submitted elsewhere) and stop."""


@runtime_checkable
class StageKind(Protocol):
    """A kind of stage. See the module docstring for a complete example."""

    name: str
    description: str
    version: str
    Options: ClassVar[type[Options]]
    consumes: ClassVar[Mapping[str, str]]
    produces: ClassVar[str]
    resumable: ClassVar[bool]

    def estimate(self, options: Any, upstream: Mapping[str, Estimate]) -> Estimate: ...

    def run(self, ctx: StageContext) -> dict[str, Any]: ...


def kind_label(kind: Any, options: Any) -> str:
    """A short line for plans and progress: the kind's ``label(options)`` or its name."""
    label = getattr(kind, "label", None)
    return label(options) if callable(label) else kind.name


def stage_fingerprint(kind: Any, options: BaseModel, slots: Mapping[str, str]) -> str:
    """sha256 over everything that determines a stage's output.

    ``slots`` maps each consumed slot to the upstream stage's (or external input's) key.
    FileRefs count by content: their path is dropped, so moving a file changes nothing.
    """
    blob = {
        "kind": kind.name,
        "version": str(getattr(kind, "version", "0")),
        "options": fingerprinted_options(options),
        "slots": dict(sorted(slots.items())),
    }
    extra = getattr(kind, "fingerprint_extra", None)
    if callable(extra):
        blob["extra"] = extra(options)
    text = json.dumps(blob, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprinted_options(options: BaseModel) -> Any:
    """The options as they enter a fingerprint: runtime fields dropped, FileRefs by content."""
    return _drop_paths(options.model_dump(mode="json"), options)


def is_runtime(model: BaseModel, field: str) -> bool:
    info = type(model).model_fields.get(field)
    extra = info.json_schema_extra if info is not None else None
    return isinstance(extra, dict) and extra.get("fingerprint") is False


def _drop_paths(data: Any, model: Any) -> Any:
    """Replace every FileRef in a dumped options tree by its sha256 alone; drop runtime
    fields (``RUNTIME``) of every pydantic model in it."""
    if isinstance(model, FileRef):
        return {"sha256": model.sha256}
    if isinstance(model, BaseModel) and isinstance(data, dict):
        return {
            k: _drop_paths(v, getattr(model, k, None))
            for k, v in data.items()
            if not is_runtime(model, k)
        }
    if isinstance(model, (list, tuple)) and isinstance(data, list):
        return [_drop_paths(d, m) for d, m in zip(data, model, strict=False)]
    if isinstance(model, dict) and isinstance(data, dict):
        return {k: _drop_paths(v, model.get(k)) for k, v in data.items()}
    return data


@dataclass
class StageContext:
    """What ``StageKind.run`` gets: its folder, typed options, filled slots, and helpers."""

    dir: Path
    options: Any
    inputs: dict[str, Upstream]
    stage: StageDir
    label: str = ""
    arms: list[str] = field(default_factory=list)
    reporter: Any = None  # msmkit.ui.RunUI, or None when quiet
    budget_usd: float | None = None
    """The run's dollar cap for a paid stage that sets none of its own (``--budget``)."""
    run: str = ""
    """The run (folder name) this stage is computed for."""

    # -- progress
    def note(self, message: str) -> None:
        if self.reporter is not None:
            self.reporter.note(message)

    @contextmanager
    def progress(self, total: int | None = None) -> Iterator[Callable[..., None]]:
        """Yields ``advance(n=1, total=None, absolute=False)`` drawn on stderr."""
        if self.reporter is None:
            yield lambda *a, **k: None
            return
        with self.reporter.progress(self.label, self.arms, total) as advance:
            yield advance

    # -- long external work
    def waiting_state(self) -> dict[str, Any] | None:
        """What ``set_waiting`` saved on an earlier attempt, or None."""
        return self.stage.record().get("waiting")

    def set_waiting(self, state: dict[str, Any]) -> None:
        """Persist what is needed to collect external work (e.g. a batch id), now."""
        self.stage.set_waiting(state)

    def end_waiting(self, final: dict[str, Any]) -> None:
        """The external work ended without a result: stop waiting on it (what it was is kept
        in ``stage.json`` as ``last_waiting``), so the error raised next fails the stage and a
        rerun submits anew instead of collecting the same failed work."""
        self.stage.end_waiting(final)

    # -- files a user may edit before the stage continues
    def intermediate(self, name: str, make: Callable[[], str]) -> str:
        """The text of an intermediate file, made once and then read back as the user left it.

        The first call writes ``make()`` to ``ctx.dir / name`` and records its hash; later
        attempts read the file as it is now. If the user edited it, stages downstream get a
        new fingerprint (``msmkit plan`` shows them to do) and this stage runs again.
        """
        path = self.dir / name
        if not path.exists():
            text = make()
            path.write_text(text, encoding="utf-8")
            self.stage.record_intermediate(name, sha256_text(text))
        return path.read_text(encoding="utf-8")


def check_stage_kind(kind: Any) -> None:
    """The registration-time contract check: fail loudly on a malformed kind."""
    name = getattr(kind, "name", "?")
    for attr in ("Options", "consumes", "produces", "run", "estimate"):
        if not hasattr(kind, attr):
            raise TypeError(f"stage kind '{name}' has no {attr}")
    if kind.produces not in ARTIFACTS:
        raise TypeError(f"stage kind '{name}' produces unknown artifact {kind.produces!r}")
    for slot, artifact in dict(kind.consumes).items():
        if not isinstance(slot, str) or not slot.rstrip("*"):
            raise TypeError(f"stage kind '{name}' has a slot named {slot!r}")
        if artifact not in ARTIFACTS:
            raise TypeError(f"stage kind '{name}' slot {slot!r} wants unknown {artifact!r}")


__all__ = [
    "ARTIFACTS",
    "RUNTIME",
    "Estimate",
    "FileRef",
    "Options",
    "StageContext",
    "StageKind",
    "StillWaiting",
    "Upstream",
    "stage_fingerprint",
]
