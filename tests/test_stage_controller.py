"""The controller for executors that detach (a cluster's), without a cluster: every ready
stage is submitted in one pass, ``detach`` returns after it, a rerun collects; the slurm
executor's resources from estimates and what ``msmkit plan`` shows; ``--executor``."""

from __future__ import annotations

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
