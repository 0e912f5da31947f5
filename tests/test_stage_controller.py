"""The controller for executors that detach (a cluster's), without a cluster: every ready
stage is submitted in one pass, ``detach`` returns after it, a rerun collects; the slurm
executor's resources from estimates and what ``msmkit plan`` shows; ``--executor``."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import ClassVar

import pytest

from msmkit.components import Estimate, NoOptions, Options
from msmkit.errors import ConfigError, OptionError
from msmkit.executors.slurm import SlurmExecutor, SlurmOptions, resources
from msmkit.stagekit import StillWaiting

EXP = """\
name: detached
base_model: {base}
executor: {executor}
defaults:
  generate: {{name: echo, options: {{n: 2}}}}
  midtrain: {{backend: copy}}
arms:
  - {{name: america, spec: pro-america}}
  - {{name: afford, spec: pro-affordability}}
"""


class FakeCluster:
    """Detaches: the first call submits (records the stage), a later one runs it inline."""

    name = "fake-cluster"
    description = "test"
    Options: ClassVar[type[Options]] = NoOptions
    runs_stages = True
    detaches = True
    log: ClassVar[list[tuple[str, str]]] = []

    def check(self, settings, options, backend) -> None: ...

    def world_size(self, settings, options) -> int:
        return 1

    def run(self, job, settings, options, ctx):
        if ctx.waiting_state() is None:
            FakeCluster.log.append(("submit", ctx.dir.name))
            ctx.set_waiting({"executor": self.name, "job_id": ctx.dir.name})
            raise StillWaiting("queued")
        FakeCluster.log.append(("collect", ctx.dir.name))
        ctx.end_waiting({"state": "COMPLETED"})
        from msmkit.executors.local import write_job
        from msmkit.run import worker

        write_job(job)
        worker.run(job.job_file)  # what the job would run, here
        return job.output


@pytest.fixture
def cluster_plugin(plugin, fresh_plugins):
    import msmkit

    class Hooks:
        @msmkit.hookimpl
        def register_executors(self, register):
            register(FakeCluster())

    fresh_plugins.register_plugin(Hooks(), "fake-cluster")
    FakeCluster.log.clear()


def write(tmp_path: Path, base: Path, executor: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(EXP.format(base=base, executor=executor))
    return path


def test_ready_stages_go_out_together_and_detach_returns(
    cluster_plugin, tmp_path, base_model, monkeypatch
):

    import msmkit

    exp = write(tmp_path, base_model, "{name: fake-cluster}")
    first = msmkit.Run(exp, log_dir=tmp_path / "logs", detach=True).execute()
    graph = first.graph
    specs = sorted(n.id for n in graph.ordered() if n.kind.name == "spec")
    assert sorted(first.waiting) == specs  # both arms' first stages, in one pass
    assert sorted(FakeCluster.log) == [("submit", s) for s in specs]
    assert {first.statuses[n.id] for n in graph.ordered() if n.kind.name != "spec"} == {"blocked"}
    again = msmkit.Run(exp, log_dir=tmp_path / "logs", poll_s=0.01).execute()
    assert again.complete and not again.waiting
    submits = [s for what, s in FakeCluster.log if what == "submit"]
    assert sorted(submits) == sorted(n.id for n in graph.ordered())  # each stage once
    for node in graph.ordered():
        record = json.loads((node.stage.dir / "stage.json").read_text())
        assert record["last_waiting"]["job_id"] == node.id


def test_executor_override_keeps_the_options_written_for_it(cluster_plugin, tmp_path, base_model):
    import msmkit

    exp = write(
        tmp_path,
        base_model,
        "{name: slurm, options: {partition: cpu}, "
        "kinds: {midtrain: {options: {gpus_per_node: 2}}}}",
    )
    graph = msmkit.Run(exp, log_dir=tmp_path / "l").plan()
    assert {ex.name for ex, _ in graph.executors.values()} == {"slurm"}
    mid = next(n for n in graph.ordered() if n.kind.name == "midtrain")
    assert graph.executors[mid.id][1].gpus_per_node == 2
    assert graph.executors[mid.id][1].partition == "cpu"
    local = msmkit.Run(exp, log_dir=tmp_path / "l", executor="local").plan()
    assert local.executors == {}
    other = msmkit.Run(exp, log_dir=tmp_path / "l", executor="fake-cluster").plan()
    assert {ex.name for ex, _ in other.executors.values()} == {"fake-cluster"}


def test_plan_shows_the_job_and_resources_of_each_stage(tmp_path, base_model):
    from conftest import run_cli

    exp = write(tmp_path, base_model, "{name: slurm, options: {partition: cpu, time_min: 30}}")
    env = {
        "MSMKIT_PLUGINS": "test-plugin=stage_plugin_hooks",
        "PYTHONPATH": str(Path(__file__).parent),
    }
    out = run_cli("plan", str(exp), "--log-dir", str(tmp_path / "l"), env=env)
    assert out.returncode == 0, out.stderr
    assert "slurm: 1 job · 1 cpu · 30 min · cpu" in out.stderr
    assert "Jobs to submit: 6 on slurm" in out.stderr
    data = run_cli("plan", str(exp), "--log-dir", str(tmp_path / "l"), "--json", env=env)
    rows = json.loads(data.stdout)["stages"]
    assert {r["executor"]["resources"]["partition"] for r in rows} == {"cpu"}


def test_resources_default_from_the_estimate():
    opts = SlurmOptions()
    cpu = resources("corpus", opts, Estimate("corpus", items=10))
    assert cpu == {
        "nodes": 1,
        "gpus_per_node": 0,
        "cpus_per_task": 1,
        "mem_gb": None,
        "time_min": 60,
    }
    big = Estimate("midtrain", extra={"gpu_hours": 4.0, "params": 8_000_000_000})
    gpu = resources("midtrain", opts, big)
    assert gpu["gpus_per_node"] == 1 and gpu["cpus_per_task"] == 8
    assert gpu["mem_gb"] == 40  # 4 bytes per parameter + 8 GB
    assert gpu["time_min"] == 4 * 60 * 3 // 2 + 30
    eight = resources("midtrain", SlurmOptions(gpus_per_node=8, mem_gb=500), big)
    assert eight["time_min"] == 75 and eight["mem_gb"] == 500 and eight["cpus_per_task"] == 64
    tiny = Estimate("midtrain", extra={"gpu_hours": 0.001, "params": 100_000})
    assert resources("midtrain", opts, tiny)["gpus_per_node"] == 0  # a tiny model: CPU job
    from msmkit.stages.evaluate import EvalKind, EvalOptions

    served = EvalKind().estimate(EvalOptions(task="spec_qa", provider="vllm"), {})
    assert resources("eval", opts, served)["gpus_per_node"] == 1  # its vLLM server, in the job
    elsewhere = EvalOptions(task="spec_qa", provider="vllm", base_url="http://h:8000/v1")
    assert resources("eval", opts, EvalKind().estimate(elsewhere, {}))["gpus_per_node"] == 0
    in_process = EvalKind().estimate(EvalOptions(task="spec_qa"), {})
    assert resources("eval", opts, in_process)["gpus_per_node"] == 0


def test_slurm_is_no_training_launcher_and_the_controller_needs_a_cluster(
    plugin, tmp_path, base_model
):
    import msmkit

    with pytest.raises(OptionError, match="runs whole stages"):
        SlurmExecutor().check(None, SlurmOptions(), None)
    with pytest.raises(OptionError, match="without dashes"):
        SlurmExecutor().check_stage("eval", SlurmOptions(sbatch={"--exclusive": True}), None)
    from msmkit.cli.controller import submit_controller

    run = msmkit.Run(write(tmp_path, base_model, "{name: process}"), log_dir=tmp_path / "l")
    with pytest.raises(ConfigError, match="--controller needs a cluster executor"):
        submit_controller(run, ["msmkit", "run"])


MULTI = """\
name: multi-node
base_model: {{tiny: {{hidden_size: 32, num_layers: 1, vocab_size: 600}}}}
defaults:
  generate: {{name: offline, options: {{docs_per_principle: 1}}}}
  midtrain: {{backend: trl, launch: {launch}}}
executor:
  name: slurm
  kinds: {{{kind}: {{name: slurm, options: {{nodes: 2, gpus_per_node: 4}}}}}}
arms:
  - {{name: america, spec: pro-america}}
"""


def test_several_nodes_only_for_training_whose_ranks_span_them(plugin, tmp_path):
    import msmkit

    def plan(kind: str, launch: str):
        path = tmp_path / "multi.yaml"
        path.write_text(MULTI.format(kind=kind, launch=launch))
        return msmkit.Run(path, log_dir=tmp_path / "l").plan()

    graph = plan("midtrain", "{launcher: accelerate, num_processes: 8}")
    [midtrain] = [n for n in graph.ordered() if n.kind.name == "midtrain"]
    _, options = graph.executors[midtrain.id]
    res = resources("midtrain", options, midtrain.estimate)
    assert res["nodes"] == 2 and res["gpus_per_node"] == 4
    from msmkit.executors.slurm import sbatch_params, summary

    assert summary(res).startswith("2 nodes · 32 cpu · 4 gpu")
    params = sbatch_params("x", res, options)  # the stage itself runs once, on one node
    assert params["nodes"] == 2 and params["srun_args"] == ["--nodes=1", "--ntasks=1"]
    with pytest.raises(ConfigError, match="needs a training stage under launch") as info:
        plan("midtrain", "{launcher: process}")
    assert "executor.kinds.midtrain.options.nodes" in str(info.value)
    with pytest.raises(ConfigError, match="this corpus stage would run on one node"):
        plan("corpus", "{launcher: accelerate, num_processes: 8}")
    with pytest.raises(ConfigError, match="does not split evenly over 2 nodes"):
        plan("midtrain", "{launcher: accelerate, num_processes: 3}")


def test_inside_a_slurm_job_accelerate_ranks_come_from_slurm(tmp_path, monkeypatch):
    """The command a training stage runs in a 2-node job: one srun task per node, each
    starting accelerate with its node id as machine rank and the job's first host as the
    main process. Run through bash with fake srun and scontrol, it resolves to exactly that."""
    import shlex
    import subprocess

    from msmkit.executors.local import accelerate_command
    from msmkit.training.launch import LaunchSettings

    settings = LaunchSettings(launcher="accelerate", num_processes=8)
    job_file = tmp_path / "train_job.json"
    outside = accelerate_command(settings, job_file, "msmkit.training.worker")
    assert outside[1:3] == ["-m", "accelerate.commands.launch"]  # not in a job: as before
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    monkeypatch.setenv("SLURM_JOB_ID", "17")
    monkeypatch.setenv("SLURM_JOB_NUM_NODES", "2")
    command = accelerate_command(settings, job_file, "msmkit.training.worker")
    assert command[:6] == [
        "srun",
        "--overlap",
        "--nodes=2",
        "--ntasks-per-node=1",
        "--ntasks=2",
        "--kill-on-bad-exit=1",
    ]
    assert command[6:8] == ["bash", "-c"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text('#!/bin/sh\nprintf "gpu-a07\\ngpu-a08\\n"\n')
    (bin_dir / "python").write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')  # echo the argv
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    script = command[8].replace(shlex.quote(command[8].split("exec ")[1].split()[0]), "python")
    for node in ("0", "1"):  # what each node's task runs
        env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "SLURM_NODEID": node,
            "SLURM_JOB_NODELIST": "gpu-a[07-08]",
        }
        argv = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.split("\n")
        flags = dict(itertools.pairwise(argv))
        assert flags["--num_machines"] == "2" and flags["--machine_rank"] == node
        assert flags["--main_process_ip"] == "gpu-a07" and flags["--num_processes"] == "8"
        assert argv[-3:-1] == ["msmkit.training.worker", str(job_file)]
    monkeypatch.setattr(settings, "launch_args", ["--num_machines", "2"])  # the user's own
    assert accelerate_command(settings, job_file, "msmkit.training.worker")[0] != "srun"
