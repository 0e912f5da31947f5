"""How a training stage runs: the ``launch:`` settings and the job it hands an executor.

The training stages serialize their job (backend, backend options, base model, data, output
dir, checkpoint dir, seed) as JSON into the stage folder, and the executor named by
``launch.launcher`` runs ``python -m msmkit.training.worker <job.json>``: in the msmkit
process (``none``), in one child process (``process``, the default), under ``accelerate
launch`` (``accelerate``: DDP, FSDP, DeepSpeed ZeRO from the user's accelerate config file,
or a minimal generated one for ``num_processes`` processes on this machine), or through any
executor a plugin registers (see :mod:`msmkit.executors`). The HF Trainer does the
distributed work; msmkit only launches.

Nothing here imports torch or the Hugging Face stack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from msmkit.components import Options, TrainJob
from msmkit.errors import OptionError, UnknownComponentError
from msmkit.executors import Job
from msmkit.executors.jobfiles import write_error  # noqa: F401  (the worker's import)
from msmkit.executors.local import bundled_configs, resolve_config  # noqa: F401

WORKER = "msmkit.training.worker"


class LaunchSettings(Options):
    """Which executor runs a training job, and its settings."""

    launcher: str = Field(
        default="process",
        description="none: in the msmkit process (debugging); process: one child process "
        "(the default: its GPU memory is freed before the evals); accelerate: the same job "
        "under `accelerate launch` (DDP, FSDP, DeepSpeed ZeRO); or an executor a plugin "
        "registers (`msmkit list executors`).",
    )
    num_processes: int = Field(
        default=1,
        ge=1,
        le=4096,
        description="accelerate: processes in all (one per GPU); with config_file, overrides "
        "its num_processes.",
    )
    config_file: str | None = Field(
        default=None,
        description="accelerate: a shipped config (ddp, zero2, zero3, fsdp2) or your accelerate "
        "config YAML; default: a minimal generated DDP one for num_processes processes on "
        "this machine.",
    )
    launch_args: list[str] = Field(
        default_factory=list,
        description="accelerate: extra `accelerate launch` arguments, passed as given, e.g. "
        "[--num_machines, '2', --machine_rank, '0', --main_process_ip, 10.0.0.1].",
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="settings of a plugin's executor (its Options)"
    )

    @field_validator("launcher")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("an executor name, e.g. process")
        return value.strip()


def is_launchable(backend: Any) -> bool:
    """Whether a training backend can run in a worker process: it must say so
    (``launchable = True``), since the worker finds it through msmkit's registry and each
    rank runs it (outputs from rank 0 only). Other backends train in the msmkit process."""
    return bool(getattr(backend, "launchable", False))


def executor_of(settings: LaunchSettings) -> Any:
    """The registered executor ``settings.launcher``, as an OptionError if unknown."""
    from msmkit.registry import get_registry

    try:
        return get_registry("executors").get(settings.launcher)
    except UnknownComponentError as exc:
        raise OptionError(exc.message, loc=("launcher",), hint=exc.hint) from None


def executor_options(settings: LaunchSettings, executor: Any) -> Any:
    from pydantic import ValidationError

    try:
        return executor.Options.model_validate(settings.options)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ("options", *err["loc"])
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        raise OptionError(msg, loc=loc, hint=f"see executor {executor.name!r}") from None


def check_launch(
    settings: LaunchSettings, *, base_dir: Path | None = None, backend: Any = None
) -> int:
    """Plan-time checks (OptionError with ``loc`` inside the launch block). Returns the
    number of processes the job will train on (the world size, which changes the output)."""
    if (
        backend is not None
        and not is_launchable(backend)
        and "launcher" in settings.model_fields_set
        and settings.launcher != "none"
    ):
        raise OptionError(
            f"backend {getattr(backend, 'name', '?')!r} trains only in the msmkit process",
            loc=("launcher",),
            hint="Remove the launch block, or set launcher: none.",
        )
    executor = executor_of(settings)
    options = executor_options(settings, executor)
    if settings.config_file is not None and base_dir is not None:
        settings = settings.model_copy(
            update={"config_file": str(resolve_config(settings.config_file, base_dir))}
        )
    executor.check(settings, options, backend)
    return int(executor.world_size(settings, options))


def job_payload(job: TrainJob, backend: str, backend_options: dict[str, Any]) -> dict[str, Any]:
    return {
        "backend": backend,
        "backend_options": backend_options,
        "stage": job.stage,
        "base_model": str(job.base_model),
        "data": str(job.data),
        "output_dir": str(job.output_dir),
        "checkpoint_dir": None if job.checkpoint_dir is None else str(job.checkpoint_dir),
        "seed": job.seed,
    }


def training_job(job: TrainJob, job_file: Path, payload: dict[str, Any], inline: Any) -> Job:
    return Job(
        name="training",
        module=WORKER,
        job_file=Path(job_file),
        payload=payload,
        output=Path(job.output_dir),
        inline=inline,
        progress=job.progress,
    )


def launch_command(settings: LaunchSettings, job_file: Path, *, base_dir: Path | None = None):
    """The command the process or accelerate executor starts for a training job file."""
    import sys

    from msmkit.executors.local import accelerate_command

    if settings.launcher == "accelerate":
        return accelerate_command(settings, Path(job_file), WORKER, base_dir=base_dir)
    return [sys.executable, "-m", WORKER, str(job_file)]


def run_job(
    settings: LaunchSettings,
    job: TrainJob,
    job_file: Path,
    payload: dict[str, Any],
    *,
    ctx: Any = None,
) -> Path:
    """Run a training job through its executor; returns ``job.output_dir``."""
    executor = executor_of(settings)
    options = executor_options(settings, executor)

    def inline() -> Any:
        raise OptionError("this job has no in-process form", loc=("launcher",))

    return executor.run(training_job(job, job_file, payload, inline), settings, options, ctx)
