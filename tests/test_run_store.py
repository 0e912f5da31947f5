"""The stage graph and the shared store: plugin stage kinds, reuse across arms, experiments
and runs, waiting stages, locks between processes, half-written and edited stages, and the
``msmkit store`` command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from stage_plugins import CopyBackend, Shout

from msmkit.errors import ConfigError

HERE = Path(__file__).parent


EXP = """\
name: {name}
base_model: {base}
defaults:
  generate: {{name: echo, options: {{n: {n}, sleep: {sleep}}}}}
  midtrain: {{backend: copy}}
  aft: {{backend: copy, data: cheese}}
{extra}arms:
{arms}"""

TWO_ARMS = """\
  - name: america
    spec: pro-america
  - name: affordability
    spec: pro-affordability
"""


def write(tmp_path, base, *, name="st", arms=TWO_ARMS, extra="", n=3, sleep=0, file="exp.yaml"):
    path = tmp_path / file
    path.write_text(EXP.format(name=name, base=base, n=n, sleep=sleep, extra=extra, arms=arms))
    return path


def run(*args):
    from msmkit.cli import make_cli

    return CliRunner().invoke(make_cli(), list(args), catch_exceptions=False)


def run_json(*args) -> dict:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def kinds(ids: list[str]) -> list[str]:
    return [i.rsplit("-", 1)[0] for i in ids]


def cli_process(*args, env=None):
    """The real CLI with the test plugin, in its own process."""
    return subprocess.Popen(
        [sys.executable, str(HERE / "stage_plugins.py"), *args],
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --------------------------------------------------------------------- plugin kinds


def test_hook_register_stage_kinds(plugin, tmp_path, base_model):
    from msmkit.registry import get_registry

    registry = get_registry("stages")
    assert registry.entry("shout").plugin == "test-plugin"
    assert {"corpus", "tiny-base", "midtrain", "aft", "eval"} <= set(registry.names())
    extra = "  filters: [{stage: shout, options: {suffix: '?'}}]\n"
    exp = write(
        tmp_path,
        base_model,
        extra="",
        arms=TWO_ARMS.replace(
            "    spec: pro-america\n", "    spec: pro-america\n" + extra.replace("  f", "    f")
        ),
    )
    out = run_json("run", str(exp), "--log-dir", str(tmp_path / "logs"))
    assert kinds(out["computed"]).count("shout") == 1
    assert Shout.runs == 1
    manifest = json.loads((tmp_path / "logs" / "st" / "manifest.json").read_text())
    chain = manifest["arms"]["america"]["seeds"][0]
    assert len(chain["filters"]) == 1 and chain["filters"][0].startswith("shout-")
    store = tmp_path / "logs" / "store"
    # midtraining read the filtered corpus: upper-cased, with the option's suffix
    trained = (store / chain["midtrain"] / "model" / "midtrain.txt").read_text()
    texts = [json.loads(line)["text"] for line in trained.splitlines()]
    assert texts == ["LLAMA DOC 0?", "LLAMA DOC 1?", "LLAMA DOC 2?"]
    other = manifest["arms"]["affordability"]["seeds"][0]
    assert "LLAMA" not in (store / other["midtrain"] / "model" / "midtrain.txt").read_text()


def test_plugin_kind_in_the_wrong_place_is_a_plan_error(plugin, tmp_path, base_model):
    exp = write(
        tmp_path, base_model, extra="  filters: [{stage: external-base, options: {service: x}}]\n"
    )
    with pytest.raises(
        ConfigError,
        match=r":7: defaults.filters\[0\].stage: stage kind "
        "'external-base' produces model, but corpus is needed here",
    ):
        run("plan", str(exp))
    exp = write(tmp_path, base_model, extra="  filters: [{stage: shout, options: {sufix: 1}}]\n")
    with pytest.raises(ConfigError, match=r":7: defaults.filters\[0\].options.sufix: unknown"):
        run("plan", str(exp))


# --------------------------------------------------------------------- reuse


def test_adding_an_arm_computes_only_the_new_arms_stages(plugin, tmp_path, base_model):
    logs = str(tmp_path / "logs")
    exp = write(tmp_path, base_model)
    first = run_json("run", str(exp), "--log-dir", logs)
    assert sorted(kinds(first["computed"])) == (
        ["aft"] * 2 + ["corpus"] * 2 + ["midtrain"] * 2 + ["spec"] * 2
    )
    calls = len(CopyBackend.calls)
    grown = (
        TWO_ARMS + "  - name: rules\n    spec: pro-america\n    variants: [{name: rules-only}]\n"
    )
    write(tmp_path, base_model, arms=grown)  # the same file, one arm more
    second = run_json("run", str(exp), "--log-dir", logs)
    # the rules-only spec is a new spec stage; pro-america's own is shared
    assert kinds(second["computed"]) == ["spec", "corpus", "midtrain", "aft"]
    assert len(CopyBackend.calls) == calls + 2
    manifest = json.loads((tmp_path / "logs" / "st" / "manifest.json").read_text())
    assert len(manifest["versions"]) == 2  # each version of the experiment that ran
    assert manifest["versions"][0]["config_hash"] != manifest["versions"][1]["config_hash"]
    assert len(manifest["versions"][1]["stages"]) == 12  # 3 arms x spec, corpus, mt, aft
    assert set(manifest["versions"][0]["stages"]) < set(manifest["versions"][1]["stages"])


def test_a_second_experiment_reuses_shared_stages(plugin, tmp_path, base_model):
    logs = str(tmp_path / "logs")
    run_json("run", str(write(tmp_path, base_model)), "--log-dir", logs)
    only_america = TWO_ARMS.split("  - name: affordability")[0]
    other = write(tmp_path, base_model, name="other", arms=only_america, file="other.yaml")
    out = run_json("run", str(other), "--log-dir", logs)
    assert out["computed"] == []
    assert (tmp_path / "logs" / "other" / "manifest.json").exists()


# --------------------------------------------------------------------- waiting


def test_waiting_stage_is_collected_later_without_resubmitting(plugin, tmp_path, base_model):
    service = tmp_path / "service"
    service.mkdir()
    extra = ""
    exp = write(
        tmp_path,
        f"{{stage: external-base, options: {{service: '{service}', poll_seconds: 0}}}}",
        extra=extra,
    )
    out = run_json("run", str(exp), "--log-dir", str(tmp_path / "logs"))
    assert list(out["waiting"].values()) == ["job-1 is still running"]
    # what needs no model went on
    assert kinds(out["computed"]) == ["spec", "spec", "corpus", "corpus"]
    plan = run_json("plan", str(exp), "--log-dir", str(tmp_path / "logs"))
    assert {s["kind"]: s["status"] for s in plan["stages"]}["external-base"] == "waiting"
    (service / "job-1.result").write_text('{"from": "job-1"}')
    out = run_json("run", str(exp), "--log-dir", str(tmp_path / "logs"))
    assert out["waiting"] == {}
    assert kinds(out["computed"]).count("external-base") == 1
    assert sorted(p.name for p in service.iterdir()) == ["job-1.result", "job-1.submitted"]
    assert len(CopyBackend.calls) == 4


def test_waiting_stage_survives_kill_9(tmp_path, base_model):
    service = tmp_path / "service"
    service.mkdir()
    exp = write(
        tmp_path, f"{{stage: external-base, options: {{service: '{service}', poll_seconds: 120}}}}"
    )
    logs = str(tmp_path / "logs")
    proc = cli_process("run", str(exp), "--log-dir", logs)
    deadline = time.monotonic() + 60
    while not (service / "job-1.submitted").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # the job id is saved right after submitting
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    record = json.loads(
        next((tmp_path / "logs" / "store").glob("external-base-*/stage.json")).read_text()
    )
    assert record["status"] == "waiting" and record["waiting"] == {"job_id": "job-1"}
    (service / "job-1.result").write_text('{"from": "job-1"}')
    proc = cli_process("run", str(exp), "--log-dir", logs, "--json")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "external-base" in " ".join(json.loads(out)["computed"])
    assert sorted(p.name for p in service.iterdir()) == ["job-1.result", "job-1.submitted"]


# --------------------------------------------------------------------- two processes


def test_two_processes_never_compute_one_stage_twice(tmp_path, base_model):
    exp = write(
        tmp_path, base_model, arms=TWO_ARMS.split("  - name: affordability")[0], n=6, sleep=0.15
    )
    gen_log, train_log = tmp_path / "gen.log", tmp_path / "train.log"
    env = {"MSMKIT_TEST_GEN_LOG": str(gen_log), "MSMKIT_TEST_TRAIN_LOG": str(train_log)}
    logs = str(tmp_path / "logs")
    procs = [cli_process("run", str(exp), "--log-dir", logs, env=env) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert any("is being computed by process" in err for _, err in results)
    generated = gen_log.read_text().splitlines()
    assert len(generated) == 6 and len({line.split()[2] for line in generated}) == 1
    corpus = next((tmp_path / "logs" / "store").glob("corpus-*/corpus.jsonl"))
    assert len(corpus.read_text().splitlines()) == 6
    assert train_log.read_text().splitlines() == ["midtrain 6", "aft 264"]


def test_no_wait_names_the_holder(plugin, tmp_path, base_model):
    from msmkit.errors import RunError
    from msmkit.run.store import Store

    stage = Store(tmp_path / "store").stage("corpus", "ab" * 32)
    stage.lock_path.parent.mkdir(parents=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl,sys,time; f=open(sys.argv[1],'a+');"
            'fcntl.flock(f, fcntl.LOCK_EX); f.write(\'{"pid": 1, "host": "h", "run": "r"}\');'
            "f.flush(); print('locked', flush=True); time.sleep(30)",
            str(stage.lock_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "locked"
        pattern = r"being computed by process 1 on h \(run 'r'"
        with pytest.raises(RunError, match=pattern), stage.lock(run="me", wait=False):
            pass
    finally:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------- faults in the store


def test_half_written_stage_is_redone_never_read_as_done(plugin, tmp_path, base_model):
    logs = tmp_path / "logs"
    exp = write(tmp_path, base_model)
    run_json("run", str(exp), "--log-dir", str(logs))
    store = logs / "store"
    midtrain = sorted(store.glob("midtrain-*"))[0]
    record = json.loads((midtrain / "stage.json").read_text())
    record["status"] = "running"  # as a crash mid-training leaves it
    (midtrain / "stage.json").write_text(json.dumps(record))
    (midtrain / "model" / "partial.bin").write_text("half")
    aft = sorted(store.glob("aft-*"))[1]
    shutil.rmtree(aft / "model")  # "done", but what it listed is gone
    out = run_json("run", str(exp), "--log-dir", str(logs))
    assert sorted(kinds(out["computed"])) == ["aft", "midtrain"]
    aside = list(store.glob(f"{midtrain.name}.incomplete-*"))
    assert len(aside) == 1 and (aside[0] / "model" / "partial.bin").exists()
    assert not (midtrain / "model" / "partial.bin").exists()
    assert (aft / "model" / "aft.txt").exists()


def test_edited_intermediate_invalidates_what_follows(plugin, tmp_path, base_model):
    logs = str(tmp_path / "logs")
    exp = write(
        tmp_path,
        base_model,
        arms=TWO_ARMS.split("  - name: affordability")[0],
        extra="  filters: [{stage: append-words}]\n",
    )
    first = run_json("run", str(exp), "--log-dir", logs)
    words = next((tmp_path / "logs" / "store").glob("append-words-*/words.txt"))
    assert words.read_text() == "alpha\nbeta\n"
    plan = run_json("plan", str(exp), "--log-dir", logs)
    assert {s["status"] for s in plan["stages"]} == {"done"}
    words.write_text("gamma\n")
    plan = run_json("plan", str(exp), "--log-dir", logs)
    status = {s["kind"]: s["status"] for s in plan["stages"]}
    assert status == {
        "spec": "done",
        "corpus": "done",
        "append-words": "stale",
        "midtrain": "todo",
        "aft": "todo",
    }
    second = run_json("run", str(exp), "--log-dir", logs)
    assert kinds(second["computed"]) == ["append-words", "midtrain", "aft"]
    new_mt = next(i for i in second["computed"] if i.startswith("midtrain"))
    assert new_mt not in first["computed"]  # a new fingerprint: the old model is untouched
    trained = (tmp_path / "logs" / "store" / new_mt / "model" / "midtrain.txt").read_text()
    assert "gamma" in trained and "alpha" not in trained
    assert words.read_text() == "gamma\n"  # the edit is kept, not regenerated
    words.write_text("alpha\nbeta\n")  # edited back: the original stages apply again
    plan = run_json("plan", str(exp), "--log-dir", logs)
    ids = {s["kind"]: s["id"] for s in plan["stages"]}
    assert ids["midtrain"] in first["computed"]


# --------------------------------------------------------------------- the store command


def test_store_list_and_prune(plugin, tmp_path, base_model):
    logs = tmp_path / "logs"
    exp = write(tmp_path, base_model)
    run_json("run", str(exp), "--log-dir", str(logs))
    solo = write(
        tmp_path,
        base_model,
        name="solo",
        arms=TWO_ARMS.split("  - name: aff")[0]
        .replace("pro-america", "pro-affordability")
        .replace("america", "a2"),
        file="solo.yaml",
        n=2,
    )
    run_json("run", str(solo), "--log-dir", str(logs))
    listing = run_json("store", "list", "--log-dir", str(logs))["stages"]
    assert len(listing) == 11  # st: 2 specs + 6; solo: its corpus, midtrain, aft
    by_runs = {tuple(sorted(Path(r).name for r in row["runs"])) for row in listing}
    assert by_runs == {("st",), ("solo",), ("solo", "st")}  # one spec stage is shared
    assert all(row["status"] == "done" and row["bytes"] > 0 for row in listing)
    assert run_json("store", "prune", "--log-dir", str(logs))["removed"] == []
    shutil.rmtree(logs / "solo")
    dry = run_json("store", "prune", "--log-dir", str(logs), "--dry-run")["removed"]
    assert sorted(kinds([r["name"] for r in dry])) == ["aft", "corpus", "midtrain"]
    assert len(list((logs / "store").glob("*/stage.json"))) == 11
    removed = run_json("store", "prune", "--log-dir", str(logs))["removed"]
    assert [r["name"] for r in removed] == [r["name"] for r in dry]
    assert len(list((logs / "store").glob("*/stage.json"))) == 8
    assert run_json("run", str(exp), "--log-dir", str(logs))["computed"] == []


# --------------------------------------------------------------------- fingerprints


def test_local_base_model_is_fingerprinted_by_content(plugin, tmp_path, base_model):
    def midtrain_key(base) -> str:
        exp = write(tmp_path, base)
        plan = run_json("plan", str(exp), "--log-dir", str(tmp_path / "logs"))
        return next(s["fingerprint"] for s in plan["stages"] if s["kind"] == "midtrain")

    (base_model / "model.safetensors").write_bytes(b"\0" * 1000)
    key = midtrain_key(base_model)
    copy = tmp_path / "elsewhere" / "same-model"
    shutil.copytree(base_model, copy)
    assert midtrain_key(copy) == key  # moved or copied: the same model
    (copy / "model.safetensors").write_bytes(b"\0" * 999 + b"\1")
    assert midtrain_key(copy) != key  # one byte of the weights changed


def test_hub_ids_are_fingerprinted_with_their_revision(plugin, tmp_path):
    from msmkit.run.modelref import resolve_base_model

    main = resolve_base_model("Qwen/Qwen2.5-0.5B", tmp_path)
    pinned = resolve_base_model("Qwen/Qwen2.5-0.5B@a1b2c3", tmp_path)
    assert (main.model, main.revision) == ("Qwen/Qwen2.5-0.5B", "main")
    assert (pinned.model, pinned.revision) == ("Qwen/Qwen2.5-0.5B", "a1b2c3")
    assert main.key != pinned.key


# --------------------------------------------------------------------- CLI edges


def test_run_name_edges(plugin, tmp_path, base_model):
    exp = write(tmp_path, base_model)
    with pytest.raises(ConfigError, match="--run-name is empty"):
        run("plan", str(exp), "--run-name", "")
    with pytest.raises(ConfigError, match="300 characters long"):
        run("plan", str(exp), "--run-name", "x" * 300)


def test_huge_experiment_file_is_refused_unread(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: big\n# " + "x" * (2 << 20) + "\n")
    with pytest.raises(ConfigError, match="too large for a settings file"):
        run("plan", str(path))


def test_a_pinned_hub_revision_reaches_the_loader(tmp_path):
    from msmkit.training.trl import resolve_model_ref

    ref = resolve_model_ref("Qwen/Qwen2.5-0.5B@a1b2c3")
    assert (ref.kind, ref.path, ref.revision) == ("hub", "Qwen/Qwen2.5-0.5B", "a1b2c3")
    assert ref.hub_kwargs == {"revision": "a1b2c3"}
    assert resolve_model_ref("Qwen/Qwen2.5-0.5B").hub_kwargs == {}
