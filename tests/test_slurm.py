"""Stages as jobs on a real single-node Slurm cluster (``python tests/slurm_cluster.py up``):
every stage a job, independent stages queued together, a killed controller replaced without
a job submitted twice (exact counts from sacct), a cancelled job failing its stage with its
state and log, a requeued training job resuming from its checkpoint, two controllers on one
store, and the controller itself as a job. Skipped, saying how to start one, without a
cluster (``MSMKIT_SLURM_REQUIRED=1``, as CI sets, makes that a failure)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

pytestmark = pytest.mark.slurm

EXP = """\
name: on-slurm
base_model: {base}
defaults:
  generate: {{name: echo, options: {{n: 3, sleep: {sleep}}}}}
  midtrain: {{backend: copy}}
  aft: {{backend: copy, data: cheese}}
arms:
{arms}
"""
ARMS = {"america": "pro-america", "afford": "pro-affordability"}


@pytest.fixture(scope="session")
def cluster() -> Path:
    import slurm_cluster

    root = slurm_cluster.DEFAULT_DIR
    if not slurm_cluster.is_up(root):
        why = (
            f"no Slurm cluster is up (state folder {root}); start one with "
            "`python tests/slurm_cluster.py up --install` (root, Debian)"
        )
        if os.environ.get("MSMKIT_SLURM_REQUIRED"):
            pytest.fail(why)
        pytest.skip(why)
    return root


@pytest.fixture
def slurm_env(cluster, tmp_path, monkeypatch) -> dict[str, str]:
    """The environment of a controller (and so of its jobs): this cluster, the test plugin."""
    import slurm_cluster

    env = {**os.environ, **slurm_cluster.env_for(cluster)}
    plugins = [p for p in [os.environ.get("MSMKIT_PLUGINS")] if p]
    env["MSMKIT_PLUGINS"] = ",".join([*plugins, "test-plugin=stage_plugin_hooks"])
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SRC), str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["MSMKIT_TEST_TRAIN_LOG"] = str(tmp_path / "train.log")
    env["COLUMNS"] = "200"
    for key, value in slurm_cluster.env_for(cluster).items():
        monkeypatch.setenv(key, value)  # sacct/squeue/scontrol from this process
    return env


def experiment(tmp_path: Path, *, arms=ARMS, sleep: float = 0.0, prefix: str) -> Path:
    base = tmp_path / "base"
    base.mkdir(exist_ok=True)
    (base / "config.json").write_text("{}")
    text = EXP.format(
        base=base,
        sleep=sleep,
        arms="\n".join(f"  - {{name: {a}, spec: {s}}}" for a, s in arms.items()),
    )
    text += f"executor: {{name: slurm, options: {{name_prefix: {prefix}}}}}\n"
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def prefix() -> str:
    return "t" + uuid.uuid4().hex[:8]


def msmkit(env, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "msmkit", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def sacct_jobs(name_prefix: str) -> list[dict[str, str]]:
    """Every job whose name starts with ``name_prefix-`` (one row per job id)."""
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-S", "2000-01-01", "-o", "JobIDRaw,JobName%200,State"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = {}
    for line in out.splitlines():
        job_id, name, state = line.split("|")
        if name.startswith(name_prefix + "-"):
            rows[job_id] = {"id": job_id, "name": name, "state": state.split()[0]}
    return list(rows.values())


def settled_jobs(name_prefix: str, expected: int, deadline_s: float = 60) -> list[dict]:
    """sacct lags: poll until ``expected`` jobs are listed, all ended (or the deadline)."""
    end = time.monotonic() + deadline_s
    while True:
        rows = sacct_jobs(name_prefix)
        running = [r for r in rows if r["state"] in ("PENDING", "RUNNING", "REQUEUED")]
        if (len(rows) >= expected and not running) or time.monotonic() > end:
            return rows
        time.sleep(1)


def stages(logs: Path) -> dict[str, dict]:
    return {
        p.parent.name: json.loads(p.read_text())
        for p in (logs / "store").glob("*/stage.json")
        if ".incomplete-" not in p.parent.name
    }


def per_stage(rows: list[dict], name_prefix: str) -> dict[str, int]:
    """Jobs per stage folder (a job's name is PREFIX-<stage folder>-<token>)."""
    counts: dict[str, int] = {}
    for row in rows:
        stage = row["name"][len(name_prefix) + 1 :].rsplit("-", 1)[0]
        counts[stage] = counts.get(stage, 0) + 1
    return counts


def wait_for(test, what: str, deadline_s: float = 180):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        found = test()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_stage_is_a_job_and_independent_stages_go_out_together(tmp_path, slurm_env):
    name = prefix()
    exp = experiment(tmp_path, prefix=name)
    logs = tmp_path / "logs"
    code, out = finish(msmkit(slurm_env, "run", str(exp), "--log-dir", str(logs), "--poll", "0.5"))
    assert code == 0, out[-3000:]
    done = stages(logs)
    assert len(done) == 8 and {r["status"] for r in done.values()} == {"done"}
    rows = settled_jobs(name, 8)
    assert per_stage(rows, name) == {stage: 1 for stage in done}  # one job per stage
    assert {r["state"] for r in rows} == {"COMPLETED"}
    for record in done.values():  # each stage says which job made it
        job = record["last_waiting"]
        assert job["state"] == "COMPLETED" and job["job_id"] in {r["id"] for r in rows}
        assert Path(job["log"]).is_file()
    # the stages with no inputs (both arms' specs) were queued in one pass, before either
    # ended; every other stage was queued only after the jobs of its inputs ended. (Later
    # stages go out when their own inputs finish, so two arms' stages of a kind are queued
    # together only when their inputs happen to finish in the same pass: not asserted.)
    times = {}
    for stage, record in done.items():
        info = subprocess.run(
            ["sacct", "-n", "-X", "-P", "-j", record["last_waiting"]["job_id"], "-o", "Submit,End"],
            capture_output=True,
            text=True,
        ).stdout.split("|")
        times[stage] = (info[0], info[1].strip())
    by_fingerprint = {record["fingerprint"]: stage for stage, record in done.items()}
    inputs = {
        stage: [by_fingerprint[fp] for fp in record["slots"].values() if fp in by_fingerprint]
        for stage, record in done.items()
    }
    roots = [stage for stage, before in inputs.items() if not before]
    assert sorted(stage.split("-")[0] for stage in roots) == ["spec", "spec"]
    assert max(times[s][0] for s in roots) <= min(times[s][1] for s in roots), times
    for stage, before in inputs.items():
        for upstream in before:
            assert times[stage][0] >= times[upstream][1], (stage, upstream, times)
    assert sum(len(before) for before in inputs.values()) == 6  # spec->corpus->midtrain->aft
    trained = (tmp_path / "train.log").read_text().split()
    assert sorted(trained[0::2]) == ["aft", "aft", "midtrain", "midtrain"]


def test_plan_shows_each_stage_job_and_resources(tmp_path, slurm_env):
    exp = experiment(tmp_path, prefix=prefix())
    proc = msmkit(slurm_env, "plan", str(exp), "--log-dir", str(tmp_path / "logs"), "--json")
    code, out = finish(proc)
    assert code == 0, out
    rows = json.loads(out[out.index("{") :])["stages"]
    assert len(rows) == 8
    for row in rows:
        where = row["executor"]
        assert where["name"] == "slurm" and where["jobs"] == 1
        assert where["resources"]["gpus_per_node"] == 0
        assert where["resources"]["cpus_per_task"] == 1


def test_a_killed_controller_is_replaced_without_submitting_a_job_twice(tmp_path, slurm_env):
    name = prefix()
    exp = experiment(tmp_path, prefix=name, sleep=1.5)  # corpus jobs take ~5 s
    logs = tmp_path / "logs"
    args = ("run", str(exp), "--log-dir", str(logs), "--poll", "0.5")
    first = msmkit(slurm_env, *args)

    def corpus_submitted():
        return [
            r
            for n, r in stages(logs).items()
            if n.startswith("corpus-") and (r.get("waiting") or {}).get("job_id")
        ]

    wait_for(corpus_submitted, "a corpus stage's job")
    first.send_signal(signal.SIGKILL)
    first.wait()
    waiting = {n: r["waiting"] for n, r in stages(logs).items() if r.get("status") == "waiting"}
    assert waiting and all(w["job_id"] for w in waiting.values())
    code, out = finish(msmkit(slurm_env, *args))
    assert code == 0, out[-3000:]
    assert "collecting work submitted earlier" in out
    done = stages(logs)
    assert len(done) == 8 and {r["status"] for r in done.values()} == {"done"}
    rows = settled_jobs(name, 8)
    assert len(rows) == 8  # exactly one job per stage, across both controllers
    assert per_stage(rows, name) == {stage: 1 for stage in done}
    for stage, state in waiting.items():  # the rerun collected the jobs it found
        assert done[stage]["last_waiting"]["job_id"] == state["job_id"]


def test_a_cancelled_job_fails_its_stage_and_a_rerun_resubmits_only_it(tmp_path, slurm_env):
    name = prefix()
    exp = experiment(tmp_path, prefix=name, arms={"america": "pro-america"})
    logs = tmp_path / "logs"
    args = ("run", str(exp), "--log-dir", str(logs), "--poll", "0.5")
    first = msmkit({**slurm_env, "MSMKIT_TEST_TRAIN_SLEEP": "300"}, *args)

    def midtrain_running():
        for stage, rec in stages(logs).items():
            job = rec.get("waiting") or {}
            if stage.startswith("midtrain-") and job.get("state") == "RUNNING":
                return stage, job["job_id"]
        return None

    stage, job_id = wait_for(midtrain_running, "the midtrain job to run")
    time.sleep(2)  # let the worker get into training (the log has a line to show)
    subprocess.run(["scancel", job_id], check=True)
    code, out = finish(first)
    assert code != 0
    assert f"Slurm job {job_id} ended CANCELLED" in out
    rec = stages(logs)[stage]
    assert rec["status"] == "failed" and "waiting" not in rec
    assert f"Slurm job {job_id} ended CANCELLED" in rec["error"]
    log = Path(rec["last_waiting"]["log"]).read_text().splitlines()
    assert any("msmkit: running the stage of" in line for line in log)
    assert "its log ends:" in rec["error"] and rec["error"].endswith(log[-1])  # the log's tail
    assert rec["last_waiting"]["state"] == "CANCELLED"
    before = per_stage(settled_jobs(name, 3), name)
    assert sorted(k.split("-")[0] for k in before) == ["corpus", "midtrain", "spec"]

    code, out = finish(msmkit(slurm_env, *args))
    assert code == 0, out[-3000:]
    after = per_stage(settled_jobs(name, 5), name)
    aft = next(k for k in after if k.startswith("aft-"))
    assert after == {**before, stage: 2, aft: 1}  # only the cancelled stage went again
    assert stages(logs)[stage]["status"] == "done"


def test_two_controllers_on_one_store_never_run_a_stage_twice(tmp_path, slurm_env):
    name = prefix()
    exp = experiment(tmp_path, prefix=name, sleep=0.5)
    logs = tmp_path / "logs"
    procs = [
        msmkit(
            slurm_env, "run", str(exp), "--log-dir", str(logs), "--run-name", run, "--poll", "0.5"
        )
        for run in ("first", "second")
    ]
    results = [finish(p) for p in procs]
    assert [code for code, _ in results] == [0, 0], results[0][1][-2000:] + results[1][1][-2000:]
    done = stages(logs)
    assert len(done) == 8
    rows = settled_jobs(name, 8)
    assert per_stage(rows, name) == {stage: 1 for stage in done}
    trained = (tmp_path / "train.log").read_text().split()
    assert sorted(trained[0::2]) == ["aft", "aft", "midtrain", "midtrain"]  # each once
    for run in ("first", "second"):
        assert json.loads((logs / run / "manifest.json").read_text())


def test_the_controller_runs_as_a_job(tmp_path, slurm_env):
    name = prefix()
    exp = experiment(tmp_path, prefix=name, arms={"america": "pro-america"})
    logs = tmp_path / "logs"
    args = ["run", str(exp), "--log-dir", str(logs), "--executor", "slurm", "--poll", "0.5"]
    code, out = finish(msmkit(slurm_env, *args, "--controller"))
    assert code == 0, out
    controller = json.loads((logs / "on-slurm" / "controller.json").read_text())["job_id"]
    rows = settled_jobs(name, 5, deadline_s=240)
    assert [r["state"] for r in rows if r["id"] == controller] == ["COMPLETED"]
    done = stages(logs)
    assert len(done) == 4 and {r["status"] for r in done.values()} == {"done"}
    jobs = [r for r in rows if r["id"] != controller]
    assert per_stage(jobs, name) == {stage: 1 for stage in done}


RESUME = """\
name: requeue
base_model: {{tiny: {{hidden_size: 32, num_layers: 1, vocab_size: 600}}}}
executor: {{name: slurm, options: {{name_prefix: {prefix}, cpus_per_task: 2}}}}
defaults:
  generate: {{name: offline, options: {{docs_per_principle: 1}}}}
  midtrain: {{backend: trl, options: {{sft: {sft}}}}}
arms:
  - name: america
    spec: pro-america
"""
SFT = {
    "max_length": 64,
    "max_steps": 60,
    "save_steps": 5,
    "per_device_train_batch_size": 2,
    "learning_rate": 1e-3,
    "warmup_steps": 0,
}


@pytest.mark.slow
def test_a_requeued_training_job_resumes_from_its_checkpoint(tmp_path, slurm_env):
    from msmkit.training import MANIFEST_NAME

    name = prefix()
    exp = tmp_path / "requeue.yaml"
    exp.write_text(RESUME.format(prefix=name, sft=json.dumps(SFT)))
    logs = tmp_path / "logs"
    run = msmkit(slurm_env, "run", str(exp), "--log-dir", str(logs), "--poll", "0.5")

    def checkpointed():
        for stage, rec in stages(logs).items():
            job = rec.get("waiting") or {}
            done = list(
                (logs / "store" / stage).glob("checkpoints/checkpoint-*/trainer_state.json")
            )
            if stage.startswith("midtrain-") and job.get("job_id") and done:
                return stage, job["job_id"]
        return None

    stage, job_id = wait_for(checkpointed, "a training checkpoint", deadline_s=300)
    subprocess.run(["scontrol", "requeue", job_id], check=True)  # as a preemption does
    code, out = finish(run, timeout=600)
    assert code == 0, out[-3000:]
    rec = stages(logs)[stage]
    assert rec["status"] == "done" and rec["last_waiting"]["job_id"] == job_id  # same job
    info = json.loads((logs / "store" / stage / "model" / MANIFEST_NAME).read_text())
    resumed = info["checkpoints"]["resumed_from_step"]
    assert resumed and resumed >= 5  # the requeued job went on from a checkpoint
    assert info["checkpoints"]["steps_this_attempt"] == SFT["max_steps"] - resumed
    rows = settled_jobs(name, 3)
    assert per_stage(rows, name) == {s: 1 for s in stages(logs)}  # requeued, not resubmitted
    requeues = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-D", "-j", job_id, "-o", "State"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert "REQUEUED" in requeues and requeues[-1] == "COMPLETED"


def small_cheese_demo(path: Path, executor: str | None) -> Path:
    """experiments/cheese-demo.yaml (both arms) with one document per principle, a smaller
    tiny model, four training steps and 1 eval item per domain: every stage of the
    pipeline, in little time."""
    import yaml

    data = yaml.safe_load((HERE.parent / "experiments" / "cheese-demo.yaml").read_text())
    data["defaults"]["generate"]["options"]["docs_per_principle"] = 1
    data["base_model"]["tiny"].update(hidden_size=32, num_layers=1)
    for step in ("midtrain", "aft"):
        data["defaults"][step]["options"]["sft"].update(num_train_epochs=1, max_steps=4)
    data["defaults"]["evals"][0]["args"]["limit_per_domain"] = 1
    if executor:
        data["executor"] = {"name": executor, "options": {"name_prefix": path.stem}}
    path.write_text(yaml.safe_dump(data))
    return path


def same_comparison(a: Path, b: Path) -> tuple[dict, dict]:
    def load(run: Path) -> dict:
        table = json.loads((run / "comparison.json").read_text())
        return json.loads(json.dumps(table).replace(str(run.parent), "<logs>"))

    return load(a), load(b)


@pytest.mark.slow
def test_cheese_demo_on_slurm_gives_the_local_comparison(tmp_path, slurm_env):
    name = prefix()
    local = small_cheese_demo(tmp_path / "local.yaml", None)
    remote = small_cheese_demo(tmp_path / f"{name}.yaml", "slurm")
    # The local run and the cluster run go side by side (separate stores), as two users would.
    # Output to files, not pipes: a full pipe would stall the run not being read yet.
    runs = {
        "a": ("run", str(local), "--log-dir", str(tmp_path / "a")),
        "b": ("run", str(remote), "--log-dir", str(tmp_path / "b"), "--poll", "1"),
    }
    procs = {}
    for key, args in runs.items():
        with open(tmp_path / f"{key}.out", "w") as out:
            procs[key] = subprocess.Popen(
                [sys.executable, "-m", "msmkit", *args],
                env=slurm_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
    for key, proc in procs.items():
        code = proc.wait(timeout=900)
        assert code == 0, (tmp_path / f"{key}.out").read_text()[-3000:]
    a, b = same_comparison(tmp_path / "a" / "cheese-demo", tmp_path / "b" / "cheese-demo")
    assert a == b and a["arms"]
    ran = stages(tmp_path / "b")
    rows = settled_jobs(name, len(ran))
    assert per_stage(rows, name) == {s: 1 for s in ran}  # every stage was a job
    local_stages = stages(tmp_path / "a")
    assert set(ran) == set(local_stages)  # the same stages (fingerprints) in both stores
    for stage, rec in ran.items():  # trained models and eval logs: the same files
        if stage.startswith(("midtrain-", "aft-")):
            ours = {k: v["sha256"] for k, v in rec["files"].items() if k.endswith(".safetensors")}
            theirs = {
                k: v["sha256"]
                for k, v in local_stages[stage]["files"].items()
                if k.endswith(".safetensors")
            }
            assert ours == theirs, stage


@pytest.mark.slow
def test_training_in_a_job_launches_its_ranks_as_a_slurm_step(tmp_path, slurm_env):
    """launch: {launcher: accelerate} inside a Slurm job starts accelerate through srun, one
    task per node of the job, machine rank and main host from Slurm (one node here)."""
    name = prefix()
    exp = tmp_path / "ranks.yaml"
    sft = {**SFT, "max_steps": 3, "save_steps": 100}
    text = RESUME.format(prefix=name, sft=json.dumps(sft))
    text = text.replace(
        "midtrain: {backend: trl,",
        "midtrain: {backend: trl, launch: {launcher: accelerate, num_processes: 1},",
    )
    exp.write_text(text)
    logs = tmp_path / "logs"
    code, out = finish(msmkit(slurm_env, "run", str(exp), "--log-dir", str(logs), "--poll", "0.5"))
    assert code == 0, out[-3000:]
    [stage] = [s for s in stages(logs) if s.startswith("midtrain-")]
    log = (logs / "store" / stage / "train_job.log").read_text()
    assert log.startswith("$ srun --overlap --nodes=1 --ntasks-per-node=1")
    assert '--machine_rank "$SLURM_NODEID"' in log
    job_id = stages(logs)[stage]["last_waiting"]["job_id"]
    steps = subprocess.run(
        ["sacct", "-n", "-P", "-j", job_id, "-o", "JobID,JobName,State"],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    ranks = [row.split("|") for row in steps if row.split("|")[1] == "bash"]
    assert [(r[0], r[2]) for r in ranks] == [(f"{job_id}.1", "COMPLETED")]  # its own step
    assert (logs / "store" / stage / "model" / "config.json").is_file()
