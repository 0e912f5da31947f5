"""Running one training job in its own process: directly, or under ``accelerate launch``.

The training stages serialize their job (backend, backend options, base model, data, output
dir, checkpoint dir, seed) as JSON into the stage folder and start
``python -m msmkit.training.worker <job.json>``, alone (``launcher: process``) or through
``accelerate launch`` (``launcher: accelerate``: DDP, FSDP, DeepSpeed ZeRO from the user's
accelerate config file, or a minimal generated one for ``num_processes`` processes on this
machine). The HF Trainer does the distributed work; msmkit only launches.

While the child runs, the parent reads the JSON progress lines the child's rank 0 appends to
``<job>.progress.jsonl`` and forwards them to its progress display. A failure in any rank
writes ``<job>.error-<rank>.json`` (the msmkit error class, message, hint, option loc); the
parent raises the same error class with that message. The child's stdout/stderr go to
``<job>.log``, whose tail is shown when a child dies without an error record. If the parent
dies (even by SIGKILL) its child is signalled (Linux ``PR_SET_PDEATHSIG``) and every worker
also exits on its own once the parent is gone, so no orphan keeps training.

Nothing here imports torch or the Hugging Face stack.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from msmkit import errors
from msmkit.components import Options, TrainJob
from msmkit.errors import MsmkitError, OptionError, RunError

ACCELERATE_DOCS = "https://huggingface.co/docs/accelerate/basic_tutorials/launch"
POLL_S = 0.2


class LaunchSettings(Options):
    """How a training stage runs: in this process, in a child process, or under accelerate."""

    launcher: Literal["none", "process", "accelerate"] = Field(
        default="process",
        description="none: in the msmkit process (debugging); process: one child process "
        "(the default: its GPU memory is freed before the evals); accelerate: the same job "
        "under `accelerate launch` (DDP, FSDP, DeepSpeed ZeRO).",
    )
    num_processes: int = Field(
        default=1,
        ge=1,
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


def is_launchable(backend: Any) -> bool:
    """Whether a training backend can run in a worker process: it must say so
    (``launchable = True``), since the worker finds it through msmkit's registry and each
    rank runs it (outputs from rank 0 only). Other backends train in the msmkit process."""
    return bool(getattr(backend, "launchable", False))


def check_launch(
    settings: LaunchSettings, *, base_dir: Path | None = None, backend: Any = None
) -> None:
    """Plan-time checks: raises OptionError with ``loc`` inside the launch block."""
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
    if settings.launcher != "accelerate":
        extra = [
            key
            for key in ("config_file", "launch_args")
            if key in settings.model_fields_set and getattr(settings, key)
        ]
        if settings.num_processes != 1:
            extra.insert(0, "num_processes")
        if extra:
            raise OptionError(
                f"launch option {extra[0]!r} needs launcher: accelerate",
                loc=(extra[0],),
                hint="Set launcher: accelerate, or remove the option.",
            )
        return
    if importlib.util.find_spec("accelerate") is None:
        raise OptionError(
            "launcher 'accelerate' needs the accelerate package, which is not installed",
            loc=("launcher",),
            hint="pip install accelerate",
        )
    if settings.config_file is not None:
        path = resolve_config(settings.config_file, base_dir)
        if not path.is_file():
            raise OptionError(
                f"accelerate config file not found: {path}",
                loc=("config_file",),
                hint="Shipped configs: " + ", ".join(bundled_configs()) + "; or write one "
                f"with `accelerate config --config_file {path}` (see {ACCELERATE_DOCS}).",
            )


def bundled_configs() -> dict[str, Path]:
    """The accelerate configs msmkit ships (recipes/accelerate): ddp, zero2, zero3, fsdp2."""
    from msmkit.resources import bundled

    folder = bundled("recipes") / "accelerate"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def resolve_config(config_file: str, base_dir: Path | None) -> Path:
    """A shipped config by name (``zero3``), else a path (relative to ``base_dir``)."""
    named = bundled_configs()
    if config_file in named:
        return named[config_file]
    path = Path(config_file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


# -- the serialized job ----------------------------------------------------------------------


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


def job_paths(job_file: Path) -> dict[str, Path]:
    stem = job_file.with_suffix("")
    return {
        "progress": stem.with_name(stem.name + ".progress.jsonl"),
        "log": stem.with_name(stem.name + ".log"),
        "errors": stem.parent,
    }


def error_files(job_file: Path) -> list[Path]:
    stem = job_file.with_suffix("").name
    found = sorted(job_file.parent.glob(f"{stem}.error-*.json"))
    return sorted(found, key=lambda p: p.name != f"{stem}.error-0.json")  # rank 0 first


def write_error(job_file: Path, rank: int, exc: BaseException) -> None:
    record = {
        "type": type(exc).__name__,
        "msmkit": isinstance(exc, MsmkitError),
        "message": getattr(exc, "message", None) or str(exc) or type(exc).__name__,
        "hint": getattr(exc, "hint", None),
        "loc": list(getattr(exc, "loc", ()) or ()),
        "rank": rank,
    }
    stem = job_file.with_suffix("").name
    path = job_file.parent / f"{stem}.error-{rank}.json"
    path.write_text(json.dumps(record, default=str) + "\n", encoding="utf-8")


def raise_recorded(record: dict[str, Any], log_file: Path) -> None:
    cls = getattr(errors, str(record.get("type")), None)
    message = str(record.get("message"))
    hint = record.get("hint")
    if not (isinstance(cls, type) and issubclass(cls, MsmkitError)):
        where = f" (rank {record.get('rank')})" if record.get("rank") else ""
        raise RunError(
            f"training failed{where}: {record.get('type')}: {message}",
            hint=f"The training log is {log_file}.",
        )
    if issubclass(cls, OptionError):
        raise cls(message, loc=tuple(record.get("loc") or ()), hint=hint)
    try:
        exc = cls(message, hint=hint)
    except TypeError:  # a subclass with another signature
        exc = RunError(message, hint=hint)
    raise exc


# -- starting the child ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def generated_config(num_processes: int) -> str:
    """A minimal accelerate config: plain DDP on this machine (MULTI_CPU with gloo without
    CUDA, since msmkit trains with use_cpu there), or a single process."""
    kind = "MULTI_GPU" if num_processes > 1 else "NO"
    return (
        "# generated by msmkit for launcher: accelerate (copy and edit it; set config_file)\n"
        "compute_environment: LOCAL_MACHINE\n"
        f"distributed_type: {kind}\n"
        f"num_processes: {num_processes}\n"
        "num_machines: 1\n"
        "machine_rank: 0\n"
        "mixed_precision: 'no'  # the Trainer's bf16/fp16 settings decide\n"
        "dynamo_config: {}\n"
        "rdzv_backend: static\n"
        "same_network: true\n"
        "use_cpu: false\n"
        f"main_process_port: {free_port()}\n"
    )


def launch_command(
    settings: LaunchSettings, job_file: Path, *, base_dir: Path | None = None
) -> list[str]:
    worker = ["-m", "msmkit.training.worker", str(job_file)]
    if settings.launcher == "process":
        return [sys.executable, *worker]
    if settings.config_file is not None:
        config = resolve_config(settings.config_file, base_dir)
    else:
        config = job_file.with_name(job_file.with_suffix("").name + ".accelerate.yaml")
        config.write_text(generated_config(settings.num_processes), encoding="utf-8")
    args = ["--config_file", str(config)]
    if settings.config_file is None or "num_processes" in settings.model_fields_set:
        args += ["--num_processes", str(settings.num_processes)]
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        *args,
        *settings.launch_args,
        *worker,
    ]


def _die_with_parent(sig: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None

    def set_pdeathsig() -> None:
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG

    return set_pdeathsig


def run_job(
    settings: LaunchSettings,
    job: TrainJob,
    job_file: Path,
    payload: dict[str, Any],
    *,
    base_dir: Path | None = None,
) -> Path:
    """Write ``payload`` to ``job_file``, run it in a child process, forward its progress,
    and return ``job.output_dir``; a failure in the child is raised here."""
    job_file = Path(job_file)
    paths = job_paths(job_file)
    for stale in (paths["progress"], *error_files(job_file)):
        stale.unlink(missing_ok=True)
    payload = {**payload, "parent_pid": os.getpid(), "progress_file": str(paths["progress"])}
    job_file.parent.mkdir(parents=True, exist_ok=True)
    job_file.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    command = launch_command(settings, job_file, base_dir=base_dir)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    sig = signal.SIGTERM if settings.launcher == "accelerate" else signal.SIGKILL
    with open(paths["log"], "wb") as log:
        log.write(("$ " + " ".join(command) + "\n").encode())
        log.flush()
        child = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent(sig)
        )
        try:
            _follow(child, paths["progress"], job.progress)
        except BaseException:
            _stop(child)
            raise
    for path in error_files(job_file):
        raise_recorded(json.loads(path.read_text(encoding="utf-8")), paths["log"])
    if child.returncode != 0:
        raise RunError(
            f"the training process exited with status {child.returncode}:\n"
            + log_tail(paths["log"]),
            hint=f"The full log is {paths['log']}.",
        )
    return Path(job.output_dir)


def _follow(child: subprocess.Popen, progress_file: Path, progress) -> None:
    offset = 0
    while True:
        done = child.poll() is not None
        if progress_file.is_file():
            with open(progress_file, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.splitlines():
                record = json.loads(line)
                if progress is not None:
                    progress(int(record["step"]), int(record["total"]))
        if done:
            return
        time.sleep(POLL_S)


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=20)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
