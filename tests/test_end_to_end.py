"""The real pipeline on a tiny model: offline generator -> TRL midtraining -> TRL AFT ->
Inspect eval through hf/ -> comparison, then a rerun that resumes without redoing anything."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, run_cli

EXPERIMENT = """\
name: e2e
seed: 1
base_model: {tiny: {hidden_size: 32, num_layers: 1, vocab_size: 600}}
defaults:
  generate: {name: offline, options: {docs_per_principle: 1}}
  midtrain: {backend: trl, options: {sft: {max_steps: 2, max_length: 128,
                                           per_device_train_batch_size: 4}}}
  aft: {backend: trl, data: cheese, options: {sft: {max_steps: 2, max_length: 96}}}
  evals: [{task: value_generalization, args: {top_logprobs: 50}}]
eval: {generate: {max_tokens: 4}, limit: 6}
arms:
  - name: affordability
    spec: pro-affordability
  - name: america
    spec: pro-america
  - name: no-msm
    midtrain: false
"""


@pytest.mark.slow
def test_run_then_resume(tmp_path):
    exp = tmp_path / "e2e.yaml"
    exp.write_text(EXPERIMENT)
    logs = tmp_path / "logs"
    first = run_cli("run", str(exp), "--log-dir", str(logs), "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    out = json.loads(first.stdout)  # stdout carries only the JSON result
    arms = out["comparison"]["arms"]
    assert set(arms) == {"affordability", "america", "no-msm"}
    # a random tiny model never answers A or B: every eval is reported as scoring nothing
    # (and left out of the table) rather than shown as rates of 0
    assert len(out["unscored"]) == 3
    assert all("scored nothing" in why for why in out["unscored"].values())
    notes = " ".join(out["comparison"]["notes"])
    assert all(f"{arm} (seed=1) value_generalization: no result" in notes for arm in arms)
    assert not [c for c in out["comparison"]["columns"] if c.startswith("value_generalization")]

    run = logs / "e2e"
    manifest = json.loads((run / "manifest.json").read_text())
    assert {s["status"] for s in manifest["stages"].values()} == {"done"}
    assert manifest["arms"]["no-msm"]["seeds"][0]["midtrain"] is None
    assert manifest["arms"]["america"]["spec"]["name"] == "pro-america"
    assert manifest["plugins"]["msmkit.backends"].startswith("msmkit")
    data = manifest["arms"]["america"]["data"]
    assert len(data["corpus_sha256"]) == 64 and len(data["aft_sha256"]) == 64
    assert manifest["arms"]["no-msm"]["data"]["corpus_sha256"] is None
    for name in ("comparison.md", "comparison.json"):
        assert (run / name).is_file()

    # every model stage produced a folder that from_pretrained loads
    from transformers import AutoModelForCausalLM

    store = logs / "store"
    for stage in store.glob("aft-*"):
        record = json.loads((stage / "stage.json").read_text())
        AutoModelForCausalLM.from_pretrained(stage / record["outputs"]["model"])

    # the same command again resumes: every stage is skipped, results are the same
    second = run_cli("run", str(exp), "--log-dir", str(logs), cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stderr.count("skipped") == len(manifest["stages"])
    attempts = [json.loads(p.read_text())["attempts"] for p in store.glob("*/stage.json")]
    assert attempts and set(attempts) == {1}


def test_readme_commands_match_ci():
    readme = (REPO / "README.md").read_text().splitlines()
    fence = readme.index("```bash")
    install_and_run, install_and_test = readme[fence + 1], readme[fence + 2]
    assert install_and_run.endswith("&& msmkit demo")
    ci = (REPO / ".ci" / "run").read_text()
    assert install_and_test in ci.splitlines()
    assert "pytest" in install_and_test


KILLED = """\
name: killed
base_model: {tiny: {hidden_size: 32, num_layers: 1, vocab_size: 600}}
defaults:
  generate: {name: offline, options: {docs_per_principle: 2}}
  midtrain: {backend: trl, options: {sft: {max_steps: 60, max_length: 128}}}
arms:
  - name: america
    spec: pro-america
"""


@pytest.mark.slow
def test_kill_9_mid_training_then_rerun(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    exp = tmp_path / "killed.yaml"
    exp.write_text(KILLED)
    logs = tmp_path / "logs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "msmkit", "run", str(exp), "--log-dir", str(logs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    record = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list((logs / "store").glob("midtrain-*/stage.json"))
        if found and json.loads(found[0].read_text()).get("status") == "running":
            record = found[0]
            break
        time.sleep(0.1)
    assert record is not None, "training never started"
    time.sleep(1.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    corpus_dir = next((logs / "store").glob("corpus-*"))
    corpus = (corpus_dir / "corpus.jsonl").read_bytes()
    assert json.loads(record.read_text())["status"] == "running"  # left as the kill found it

    again = run_cli("run", str(exp), "--log-dir", str(logs))
    assert again.returncode == 0, again.stderr[-3000:]
    assert (corpus_dir / "corpus.jsonl").read_bytes() == corpus  # finished work kept as is
    assert json.loads((corpus_dir / "stage.json").read_text())["attempts"] == 1
    rec = json.loads(record.read_text())
    assert rec["status"] == "done" and rec["attempts"] == 2
    assert (record.parent / "model" / "config.json").is_file()
    # the killed attempt's partial output was set aside, not trained on or overwritten
    assert len(list((logs / "store").glob(f"{record.parent.name}.incomplete-*"))) <= 1
