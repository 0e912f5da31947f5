"""The executors msmkit ships: ``none`` (in this process), ``process`` (one child process)
and ``accelerate`` (the same job under ``accelerate launch``).

A child runs ``python -m <job.module> <job file>``. While it runs, the parent reads the JSON
progress lines rank 0 appends to ``<job>.progress.jsonl`` and forwards them; a failure in any
rank is written as ``<job>.error-<rank>.json`` (see :mod:`msmkit.executors.jobfiles`) and the
parent raises the same msmkit error class. The child's output goes to ``<job>.log``, whose
tail is shown when a child dies without an error record. If the parent dies (even by SIGKILL)
its child is signalled (Linux ``PR_SET_PDEATHSIG``), so no orphan keeps training.

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
from typing import Any, ClassVar

from msmkit.components import NoOptions, Options
from msmkit.errors import OptionError, RunError
from msmkit.executors import Job
from msmkit.executors.jobfiles import error_files, job_paths, log_tail, raise_recorded

ACCELERATE_DOCS = "https://huggingface.co/docs/accelerate/basic_tutorials/launch"
POLL_S = 0.2
ACCELERATE_FIELDS = ("num_processes", "config_file", "launch_args")


def _only_accelerate_fields(settings: Any) -> None:
    if settings is None:  # a whole stage, not a training launch
        return
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


class _OneProcess:
    """An executor that trains in one process and takes no accelerate settings."""

    Options: ClassVar[type[Options]] = NoOptions

    def check(self, settings: Any, options: Any, backend: Any) -> None:
        _only_accelerate_fields(settings)

    def world_size(self, settings: Any, options: Any) -> int:
        return 1


class InlineExecutor(_OneProcess):
    name = "none"
    description = "In the msmkit process (debugging; tiny models)"

    def run(self, job: Job, settings: Any, options: Any, ctx: Any) -> Path:
        job.inline()
        return job.output


class ProcessExecutor(_OneProcess):
    name = "process"
    description = "One child process (the default: its GPU memory is freed before the evals)"
    runs_stages = True  # `executor: {name: process}` runs whole stages in child processes

    def run(self, job: Job, settings: Any, options: Any, ctx: Any) -> Path:
        return run_child(job, [sys.executable, "-m", job.module, str(job.job_file)])


class AccelerateExecutor:
    name = "accelerate"
    description = "The job under `accelerate launch` (DDP, FSDP, DeepSpeed ZeRO)"
    Options: ClassVar[type[Options]] = NoOptions

    def check(self, settings: Any, options: Any, backend: Any) -> None:
        if importlib.util.find_spec("accelerate") is None:
            raise OptionError(
                "launcher 'accelerate' needs the accelerate package, which is not installed",
                loc=("launcher",),
                hint="pip install accelerate",
            )
        if settings.config_file is not None:
            path = resolve_config(settings.config_file, None)
            if not path.is_file():
                raise OptionError(
                    f"accelerate config file not found: {path}",
                    loc=("config_file",),
                    hint="Shipped configs: " + ", ".join(bundled_configs()) + "; or write one "
                    f"with `accelerate config --config_file {path}` (see {ACCELERATE_DOCS}).",
                )

    def world_size(self, settings: Any, options: Any) -> int:
        return int(settings.num_processes)

    def run(self, job: Job, settings: Any, options: Any, ctx: Any) -> Path:
        return run_child(job, accelerate_command(settings, job.job_file, job.module))


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


# -- the child process ---------------------------------------------------------------------


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


def accelerate_command(
    settings: Any, job_file: Path, module: str, *, base_dir: Path | None = None
) -> list[str]:
    if settings.config_file is not None:
        config = resolve_config(settings.config_file, base_dir)
    else:
        config = job_file.with_name(job_file.with_suffix("").name + ".accelerate.yaml")
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(generated_config(settings.num_processes), encoding="utf-8")
    from msmkit.executors.slurm_ranks import in_slurm_job, per_node_command

    launch = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config)]
    tail = ["-m", module, str(job_file)]
    if settings.config_file is None or "num_processes" in settings.model_fields_set:
        launch += ["--num_processes", str(settings.num_processes)]
    if in_slurm_job() and "--num_machines" not in settings.launch_args:
        return per_node_command([*launch, *settings.launch_args], tail, free_port())
    return [*launch, *settings.launch_args, *tail]


def _die_with_parent(sig: int) -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None

    def set_pdeathsig() -> None:
        import ctypes

        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG

    return set_pdeathsig


def write_job(job: Job) -> None:
    """Write the job's payload (with the parent's pid and the progress file) to its file."""
    paths = job_paths(job.job_file)
    for stale in (paths["progress"], *error_files(job.job_file)):
        stale.unlink(missing_ok=True)
    payload = {**job.payload, "parent_pid": os.getpid(), "progress_file": str(paths["progress"])}
    job.job_file.parent.mkdir(parents=True, exist_ok=True)
    job.job_file.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def run_child(job: Job, command: list[str]) -> Path:
    """Run ``command`` for ``job`` in a child process, forward its progress, and return
    ``job.output``; a failure in the child is raised here."""
    write_job(job)
    paths = job_paths(job.job_file)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    launcher = "accelerate.commands.launch" in command or command[0] == "srun"
    sig = signal.SIGTERM if launcher else signal.SIGKILL  # launchers stop their ranks
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
    for path in error_files(job.job_file):
        raise_recorded(json.loads(path.read_text(encoding="utf-8")), paths["log"])
    if child.returncode != 0:
        raise RunError(
            f"the {job.name} process exited with status {child.returncode}:\n"
            + log_tail(paths["log"]),
            hint=f"The full log is {paths['log']}.",
        )
    return Path(job.output)


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


BUILTIN_EXECUTORS = (InlineExecutor, ProcessExecutor, AccelerateExecutor)
