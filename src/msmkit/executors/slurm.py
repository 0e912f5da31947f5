"""The ``slurm`` executor: each stage of an experiment runs as a Slurm job, through submitit.

``executor: {name: slurm, options: {partition: gpu, time_min: 240}}`` in an experiment (or
per kind, or ``msmkit run EXP --executor slurm``) makes every stage a job that runs
``python -m msmkit.run.worker <stage>/stage_job.json`` in the stage's store folder, which
must be on a file system the nodes share. The executor *detaches*: it submits and returns at
once (:class:`~msmkit.stagekit.StillWaiting`), and the run's controller
(:func:`msmkit.run.runner.control`) polls, collects finished jobs and submits the stages they
unblock, so independent stages (arms, seeds) are queued together.

The job is saved in the stage (``stage.json`` ``waiting``: job id, name, Slurm state, log)
before and right after ``sbatch``, so a controller killed at any point is replaced by running
it again: it collects (or finds by its unique name) the job instead of submitting another. A
job that ends FAILED, CANCELLED, TIMEOUT, PREEMPTED, OUT_OF_MEMORY or NODE_FAIL fails its
stage with that state and the log's tail; the next run submits that stage again. A job
signalled before its time limit or preempted (``USR2``) requeues itself (submitit's
checkpointing, up to ``max_requeues`` times); training resumes from the stage's
``checkpoints/``.

Resources default from the stage's estimate (``resources``) and every one is overridable.
Nothing here imports submitit until a job is submitted.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from msmkit.components import Options
from msmkit.errors import MsmkitError, OptionError, RunError
from msmkit.executors import Job
from msmkit.executors.jobfiles import error_files, job_paths, log_tail, raise_recorded
from msmkit.stagekit import StillWaiting

TERMINAL = (
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "PREEMPTED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "BOOT_FAIL",
    "DEADLINE",
    "REVOKED",
)
GPU_STAGE_HOURS = 0.05
"""A stage estimated at this many GPU-hours or more asks for a GPU by default."""
UNKNOWN_AFTER_S = 600
"""A job Slurm no longer knows (neither squeue nor sacct) this long after submission fails."""
SLURM_DIR = "slurm"  # in the stage folder: submitit's files and the job's log, per attempt
_ACTIVE: set[str] = set()  # this process's jobs still queued or running


class SlurmOptions(Options):
    """Where and with what each stage's job runs. Unset resources come from the estimate."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    nodes: int = Field(
        1,
        ge=1,
        description="nodes per job; more than one only for a training stage under launch: "
        "{launcher: accelerate}, whose ranks then span the nodes",
    )
    gpus_per_node: int | None = Field(
        None,
        ge=0,
        description=f"default: 1 for a stage estimated at ≥{GPU_STAGE_HOURS} GPU-h or an eval "
        "that starts a vLLM server",
    )
    cpus_per_task: int | None = Field(None, ge=1, description="default: 8 per GPU, else 1")
    mem_gb: float | None = Field(
        None, gt=0, description="default: 4 bytes per parameter + 8 GB when known, else none"
    )
    time_min: int | None = Field(
        None, ge=1, description="default: 1.5x the estimated GPU time + 30 min, at least 60"
    )
    constraint: str | None = None
    array_parallelism: int = Field(
        64, ge=1, description="most jobs this controller keeps queued or running at once"
    )
    setup: list[str] = Field(
        default_factory=list, description="shell lines run first (module load, venv)"
    )
    sbatch: dict[str, Any] = Field(
        default_factory=dict, description="extra sbatch parameters: {mail-type: END}"
    )
    python: str | None = Field(None, description="the nodes' python (default: this one)")
    max_requeues: int = Field(3, ge=0, description="self-requeues on timeout or preemption")
    signal_delay_s: int = Field(90, ge=0, description="USR2 this long before the time limit")
    name_prefix: str = Field("msmkit", min_length=1, description="job names start with it")
    controller_time_min: int = Field(2880, ge=1, description="time limit of --controller")


def resources(kind: str, options: SlurmOptions, estimate: Any) -> dict[str, Any]:
    """What the job of a ``kind`` stage with this estimate asks for (the plan shows it)."""
    extra = dict(getattr(estimate, "extra", {}) or {})
    hours = float(extra.get("gpu_hours") or 0.0)
    params = extra.get("params")
    gpus = options.gpus_per_node
    if gpus is None:  # what the stage says it needs (a vLLM server), else by its GPU-hours
        gpus = int(extra.get("gpus") or (1 if hours >= GPU_STAGE_HOURS else 0))
    cpus = options.cpus_per_task or (8 * gpus if gpus else 1)
    mem = options.mem_gb
    if mem is None and params:
        mem = math.ceil(4 * float(params) / 1e9 + 8)
    minutes = options.time_min
    if minutes is None:
        minutes = max(60, math.ceil(hours / max(gpus * options.nodes, 1) * 60 * 1.5) + 30)
    out: dict[str, Any] = {
        "nodes": options.nodes,
        "gpus_per_node": gpus,
        "cpus_per_task": cpus,
        "mem_gb": mem,
        "time_min": minutes,
    }
    for key in ("partition", "account", "qos", "constraint"):
        if getattr(options, key):
            out[key] = getattr(options, key)
    return out


def summary(res: dict[str, Any]) -> str:
    parts = [f"{res['nodes']} nodes"] if res.get("nodes", 1) > 1 else []
    parts.append(f"{res['cpus_per_task']} cpu")
    if res["gpus_per_node"]:
        parts.append(f"{res['gpus_per_node']} gpu")
    if res.get("mem_gb"):
        parts.append(f"{res['mem_gb']:g} GB")
    parts.append(f"{res['time_min']} min")
    if res.get("partition"):
        parts.append(str(res["partition"]))
    return " · ".join(parts)


# -- asking Slurm ----------------------------------------------------------------------------


def _slurm(argv: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise RunError(
            f"`{argv[0]}` is not on PATH: this machine is not a Slurm login node",
            hint="run msmkit where sbatch, squeue and sacct work, or choose another executor "
            "(msmkit run --executor local)",
        ) from None


def job_state(job_id: str) -> str:
    """The job's state: squeue while Slurm holds it, else accounting (``sacct``)."""
    queue = _slurm(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"])
    if queue.returncode == 0 and queue.stdout.strip():
        return queue.stdout.split()[0]
    acct = _slurm(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"])
    lines = [line for line in acct.stdout.splitlines() if line.strip()]
    return lines[-1].split()[0].rstrip("+") if lines else "UNKNOWN"


def find_job(name: str) -> str | None:
    """The id of a job submitted under this (unique) name, if Slurm has it."""
    queue = _slurm(["squeue", "-h", "-t", "all", "-n", name, "-o", "%i"])
    ids = queue.stdout.split() if queue.returncode == 0 else []
    if not ids:
        acct = _slurm(
            ["sacct", "-n", "-X", "-P", "--name", name, "-S", "2000-01-01", "-o", "JobIDRaw"]
        )
        ids = [line.strip() for line in acct.stdout.splitlines() if line.strip()]
    return ids[0] if ids else None


@contextlib.contextmanager
def _submit_env():
    """Submit as from a login node: a controller running in a job must not hand its own
    SLURM_* settings to the jobs it submits (SLURM_CONF, which says which cluster, stays)."""
    names = ("SLURM_", "SLURMD_", "SRUN_", "SBATCH_", "SUBMITIT_")
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(names)}
    if "SLURM_CONF" in saved:
        os.environ["SLURM_CONF"] = saved.pop("SLURM_CONF")
    try:
        yield
    finally:
        os.environ.update(saved)


def _need_submitit() -> Any:
    try:
        import submitit
    except ImportError:
        from msmkit.errors import PrerequisiteError

        raise PrerequisiteError(
            "the slurm executor needs submitit", hint="pip install 'msmkit[slurm]'"
        ) from None
    return submitit


def submit(fn: Any, args: list[Any], folder: Path, params: dict[str, Any], options: Any) -> str:
    """Submit ``fn(*args)`` as one job whose submitit files and log go to ``folder``."""
    submitit = _need_submitit()
    folder.mkdir(parents=True, exist_ok=True)
    ex = submitit.SlurmExecutor(
        folder=folder, max_num_timeout=options.max_requeues, python=options.python
    )
    ex.update_parameters(**params)
    with _submit_env():
        try:
            job = ex.submit(fn, *args)
        except Exception as exc:  # sbatch refused: bad partition, resources, ...
            raise RunError(
                f"sbatch refused the job: {str(exc).strip().splitlines()[-1]}",
                hint="check the executor's options (partition, account, gpus_per_node, ...)",
            ) from None
    return str(job.job_id)


def sbatch_params(name: str, res: dict[str, Any], options: SlurmOptions) -> dict[str, Any]:
    params: dict[str, Any] = {
        "job_name": name,
        "time": res["time_min"],
        "nodes": res["nodes"],
        "ntasks_per_node": 1,
        "cpus_per_task": res["cpus_per_task"],
        "stderr_to_stdout": True,
        "signal_delay_s": options.signal_delay_s,
        "setup": list(options.setup),
        "additional_parameters": dict(options.sbatch),
    }
    if res["nodes"] > 1:  # the stage runs once, on the first node; training spans them all
        params["srun_args"] = ["--nodes=1", "--ntasks=1"]
    if res["gpus_per_node"]:
        params["gpus_per_node"] = res["gpus_per_node"]
    if res.get("mem_gb"):
        params["mem"] = f"{math.ceil(res['mem_gb'] * 1024)}M"
    for key in ("partition", "account", "qos", "constraint"):
        if res.get(key):
            params[key] = res[key]
    return params


def log_file(folder: Path, job_id: str) -> Path:
    return Path(folder) / f"{job_id}_0_log.out"


# -- the executor ----------------------------------------------------------------------------


class SlurmExecutor:
    name = "slurm"
    description = "Each stage as a Slurm job (submitit); the controller polls and collects"
    Options: ClassVar[type[Options]] = SlurmOptions
    runs_stages = True
    detaches = True  # run() submits and returns: the run's controller polls
    scratch = (SLURM_DIR,)  # logs and submitit files: not part of the stage's outputs
    job_state = staticmethod(job_state)

    def check(self, settings: Any, options: Any, backend: Any) -> None:
        raise OptionError(
            "launcher 'slurm' runs whole stages, not a training job inside a stage",
            loc=("launcher",),
            hint="put the stage on Slurm with the experiment's executor: {kinds: {midtrain: "
            "{name: slurm}}}; inside the job, launch: {launcher: accelerate} uses its GPUs",
        )

    def world_size(self, settings: Any, options: Any) -> int:
        return 1

    def check_stage(self, kind: str, options: SlurmOptions, estimate: Any) -> None:
        if importlib.util.find_spec("submitit") is None:
            raise OptionError(
                "the slurm executor needs submitit, which is not installed",
                loc=("name",),
                hint="pip install 'msmkit[slurm]'",
            )
        for key in options.sbatch:
            if key.startswith("-"):
                raise OptionError(
                    f"write sbatch parameters without dashes: {key.lstrip('-')!r}",
                    loc=("sbatch", key),
                )

    def check_stage_options(self, kind: str, options: SlurmOptions, stage: Any) -> None:
        """A job on several nodes is for a training stage whose accelerate ranks span them
        (:func:`per_node_command`); any other stage would leave all but one node idle."""
        if options.nodes == 1:
            return
        launch = getattr(stage, "launch", None)
        if launch is None or launch.launcher != "accelerate":
            raise OptionError(
                f"nodes: {options.nodes} needs a training stage under launch: "
                f"{{launcher: accelerate}}; this {kind} stage would run on one node",
                loc=("nodes",),
                hint=f"set nodes per kind: executor: {{kinds: {{midtrain: {{name: slurm, "
                f"options: {{nodes: {options.nodes}}}}}}}}}, and launch: {{launcher: "
                "accelerate, num_processes: <GPUs in all>}} in that stage",
            )
        if launch.num_processes % options.nodes:
            raise OptionError(
                f"launch num_processes {launch.num_processes} does not split evenly over "
                f"{options.nodes} nodes",
                loc=("nodes",),
                hint="num_processes counts processes on all nodes: nodes x GPUs per node",
            )

    def describe_stage(self, kind: str, options: SlurmOptions, estimate: Any) -> dict[str, Any]:
        """What ``msmkit plan`` shows: jobs and the resources each asks for."""
        res = resources(kind, options, estimate)
        return {"name": self.name, "jobs": 1, "resources": res, "summary": summary(res)}

    def run(self, job: Job, settings: Any, options: SlurmOptions, ctx: Any) -> Path:
        if settings is not None:
            self.check(settings, options, None)
        state = ctx.waiting_state()
        if not state or state.get("executor") != self.name:
            state = self._submit(job, options, ctx)
        elif not state.get("job_id"):  # killed between sbatch and saving the id
            found = find_job(state["name"])
            state = {**state, "job_id": found} if found else self._submit(job, options, ctx)
            ctx.set_waiting(state)
        return self._poll(job, state, ctx)

    def _submit(self, job: Job, options: SlurmOptions, ctx: Any) -> dict[str, Any]:
        from msmkit.executors.local import write_job
        from msmkit.executors.slurm_job import StageTask

        if len(_ACTIVE) >= options.array_parallelism:
            raise StillWaiting(
                f"held back: {len(_ACTIVE)} jobs queued or running (array_parallelism)"
            )
        res = resources(job.resources.get("kind", ""), options, job.resources.get("estimate"))
        token = uuid.uuid4().hex[:8]
        name = f"{options.name_prefix}-{ctx.dir.name}-{token}"
        folder = ctx.dir / SLURM_DIR / token  # fresh per attempt: job ids restart on new clusters
        write_job(job)
        state: dict[str, Any] = {
            "executor": self.name,
            "name": name,
            "folder": str(folder),
            "resources": res,
            "state": "SUBMITTING",
        }
        ctx.set_waiting(state)  # before sbatch: a controller killed now finds it by name
        params = sbatch_params(name, res, options)
        job_id = submit(StageTask(), [str(job.job_file)], folder, params, options)
        state.update(job_id=job_id, state="PENDING", submitted=time.time())
        state["log"] = str(log_file(folder, job_id))
        ctx.set_waiting(state)
        _ACTIVE.add(job_id)
        ctx.note(f"{job.name}: submitted Slurm job {job_id} ({summary(res)})")
        return state

    def _poll(self, job: Job, state: dict[str, Any], ctx: Any) -> Path:
        job_id = str(state["job_id"])
        current = job_state(job_id)
        if current == "UNKNOWN" and time.time() - float(state.get("submitted") or 0) < (
            UNKNOWN_AFTER_S
        ):
            current = state.get("state") or "PENDING"  # accounting lags a new job
        if current != state.get("state"):
            state = {**state, "state": current, "state_since": time.time()}
            ctx.set_waiting(state)
        _forward_progress(job)
        if current not in TERMINAL and current != "UNKNOWN":
            _ACTIVE.add(job_id)
            raise StillWaiting(f"Slurm job {job_id} is {current}")
        _ACTIVE.discard(job_id)
        ctx.end_waiting({"state": current})  # the record keeps which job made (or failed) it
        if current == "COMPLETED" and Path(job.output).is_file():
            return Path(job.output)
        log = Path(state.get("log") or log_file(Path(state["folder"]), job_id))
        records = error_files(job.job_file)
        if records:  # the stage itself raised: its own error, as if it ran here
            try:
                raise_recorded(json.loads(records[0].read_text(encoding="utf-8")), log)
            except MsmkitError as exc:
                exc.message = f"(Slurm job {job_id} {current}) {exc.message}"
                exc.args = (exc.message,)
                raise
        tail = log_tail(log, 20)
        raise RunError(
            f"Slurm job {job_id} ended {current}" + (f"; its log ends:\n{tail}" if tail else ""),
            hint=f"the job's log is {log}; run again to submit this stage anew",
        )

    def submit_controller(self, command: list[str], options: SlurmOptions, folder: Path) -> str:
        """Submit ``command`` (an ``msmkit run``) as a small CPU job; returns its id."""
        from msmkit.executors.slurm_job import Command

        res = {
            "nodes": 1,
            "gpus_per_node": 0,
            "cpus_per_task": 1,
            "mem_gb": 4,
            "time_min": options.controller_time_min,
        }
        for key in ("partition", "account", "qos"):
            if getattr(options, key):
                res[key] = getattr(options, key)
        name = f"{options.name_prefix}-controller-{uuid.uuid4().hex[:8]}"
        params = sbatch_params(name, res, options)
        return submit(Command(command), [], Path(folder), params, options)


def _forward_progress(job: Job) -> None:
    """Show the last progress line the worker wrote (the job's progress file)."""
    if job.progress is None:
        return
    path = job_paths(job.job_file)["progress"]
    with contextlib.suppress(OSError, ValueError, IndexError, KeyError):
        last = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        record = json.loads(last)
        job.progress(int(record["step"]), int(record["total"]))
