"""Executors: *where* a stage's work runs, beside stage kinds, which say *what* it computes.

A stage kind that hands heavy work out (training today) describes it as a :class:`Job`: a
JSON payload for ``python -m <module> <job file>``, the same work as an in-process callable,
and where its result appears. The experiment chooses the executor by name (``launch:
{launcher: NAME}`` on a training stage); msmkit ships ``none`` (in the msmkit process),
``process`` (one child process, the default) and ``accelerate`` (``accelerate launch``:
DDP, FSDP, DeepSpeed ZeRO), and a plugin adds more through the ``register_executors`` hook::

    class MyCluster:
        name = "my-cluster"
        description = "Run the job on my cluster"
        Options = MyClusterOptions           # validated from launch.options

        def check(self, settings, options, backend) -> None: ...   # plan time
        def world_size(self, settings, options) -> int: return 1   # enters the fingerprint
        def run(self, job, settings, options, ctx) -> Path: ...

``run`` gets the stage's context: work submitted elsewhere is saved with
``ctx.set_waiting({"job_id": ...})`` *before* waiting on it, and a rerun finds it in
``ctx.waiting_state()`` and collects instead of resubmitting; raising
``msmkit.stagekit.StillWaiting`` ends this process and leaves the stage waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from msmkit.components import Options


@dataclass
class Job:
    """One unit of work an executor runs.

    ``module`` is run as ``python -m module job_file`` after ``payload`` is written to
    ``job_file``; ``inline`` does the same work in the calling process; ``output`` is what a
    finished job leaves behind. ``progress(step, total)`` receives progress if the executor
    can forward it.
    """

    name: str
    module: str
    job_file: Path
    payload: dict[str, Any]
    output: Path
    inline: Callable[[], Any]
    progress: Callable[[int, int], None] | None = None
    resources: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Executor(Protocol):
    name: str
    description: str
    Options: ClassVar[type[Options]]

    def check(self, settings: Any, options: Any, backend: Any) -> None: ...

    def world_size(self, settings: Any, options: Any) -> int: ...

    def run(self, job: Job, settings: Any, options: Any, ctx: Any) -> Path: ...


def get_executor(name: str) -> Any:
    """The registered executor ``name`` (an UnknownComponentError lists the others)."""
    from msmkit.registry import get_registry

    return get_registry("executors").get(name)


__all__ = ["Executor", "Job", "get_executor"]
