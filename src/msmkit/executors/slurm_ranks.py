"""Training ranks inside a job of the ``slurm`` executor: ``accelerate launch`` on every node
of the job through ``srun``, with each node's rank and the main host taken from Slurm.

Kept apart from :mod:`msmkit.executors.slurm` (which submits and polls) because the
accelerate executor uses it on the compute node.
"""

from __future__ import annotations

import os
import shlex


def in_slurm_job() -> bool:
    """Whether this process runs inside a job the slurm executor submitted."""
    return os.environ.get("SUBMITIT_EXECUTOR") == "slurm" and bool(os.environ.get("SLURM_JOB_ID"))


def per_node_command(launch_argv: list[str], tail: list[str], port: int) -> list[str]:
    """``accelerate launch`` on every node of this Slurm job, one ``srun`` task per node.

    ``launch_argv`` is the launch command with its options (``--num_processes`` counts the
    processes on all nodes), ``tail`` the script and its arguments. Each node's rank is its
    ``SLURM_NODEID`` and the main process is on the first host of ``SLURM_JOB_NODELIST``, so
    accelerate's ranks and address come from Slurm. ``--overlap`` lets this step share the
    node with the stage's own step."""
    nodes = int(os.environ.get("SLURM_JOB_NUM_NODES") or os.environ.get("SLURM_NNODES") or 1)
    script = (
        'head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1) && exec '
        + shlex.join([*launch_argv, "--num_machines", str(nodes)])
        + ' --machine_rank "$SLURM_NODEID" --main_process_ip "$head" '
        + shlex.join(["--main_process_port", str(port)])
        + " "
        + shlex.join(tail)
    )
    return [
        "srun",
        "--overlap",
        f"--nodes={nodes}",
        "--ntasks-per-node=1",
        f"--ntasks={nodes}",
        "--kill-on-bad-exit=1",
        "bash",
        "-c",
        script,
    ]
